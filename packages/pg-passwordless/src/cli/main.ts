import { readFileSync } from 'node:fs';
import { COMMANDS } from './commands.ts';
import { runBin } from './frame/bin.ts';
import { processIo } from './frame/io.ts';

/** The version of the installed package: src/cli/ and dist/cli/ both sit two folders below its package.json. */
function installedVersion(): string {
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

const bin = {
  name: 'pg-passwordless',
  version: installedVersion(),
  synopsis: 'pg-passwordless <command> [options]',
  commands: COMMANDS,
  footer: 'Run "pg-passwordless <command> --help" for a command\'s options.',
};

runBin(bin, process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
