// A stand-in for Prisma's schema engine that records how Prisma's CLI starts it, for tests of what the
// CLI hands its engine on machines where the real binary cannot be downloaded. Prisma runs the file named
// by PRISMA_SCHEMA_ENGINE_BINARY in place of node_modules/@prisma/engines/schema-engine-<platform>, in two
// ways: `--datasource <json> cli <command>` for one-shot commands (can-connect-to-database, create-database),
// and `--datamodels <files> --datasource <json>` for the JSON-RPC server that runs migrations.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SchemaEngineRecorder {
  /** The variable that makes Prisma's CLI run the recorder as its schema engine. */
  env: { PRISMA_SCHEMA_ENGINE_BINARY: string };
  /** The argument list of each start, in order. */
  starts(): string[][];
}

/** What the recorder answers each JSON-RPC request with: an error, which ends the CLI's command. */
export const RECORDER_ANSWER = 'the schema engine recorder runs no request';

/**
 * Writes the recorder into `folder` (made 0700; the log it writes is 0600, since an argument list may
 * hold a secret). A one-shot command succeeds, so that the CLI goes on to start the JSON-RPC server, which
 * answers every request with an error. (A server that simply exits races the CLI: Prisma 7.5 may then
 * write its next request into the closed pipe and exit 0 having done nothing.)
 */
export function writeSchemaEngineRecorder(folder: string): SchemaEngineRecorder {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const log = join(folder, 'starts.jsonl');
  const script = join(folder, 'schema-engine.cjs');
  const answer = { code: 1, message: RECORDER_ANSWER, data: { message: RECORDER_ANSWER } };
  writeFileSync(
    script,
    [
      `#!${process.execPath}`,
      `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n', { mode: 0o600 });`,
      "if (process.argv.includes('cli')) process.exit(0);",
      "require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {",
      `  const response = { jsonrpc: '2.0', id: JSON.parse(line).id, error: ${JSON.stringify(answer)} };`,
      "  process.stdout.write(JSON.stringify(response) + '\\n');",
      '});',
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  return {
    env: { PRISMA_SCHEMA_ENGINE_BINARY: script },
    starts: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as string[])
        : [],
  };
}

/** The connection URL in one start's `--datasource` argument, or undefined when it has none. */
export function datasourceUrl(argv: string[]): string | undefined {
  const index = argv.indexOf('--datasource');
  if (index < 0) return undefined;
  return (JSON.parse(argv[index + 1] ?? '{}') as { url?: string }).url;
}
