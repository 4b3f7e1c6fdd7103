import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { cleanEnv, runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const folder = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
const prismaCli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');

/**
 * The Prisma 7 CLI makes sure the schema-engine binary is present before any command, generate
 * included, and downloads it from binaries.prisma.sh when it is missing. The install script of
 * @prisma/engines normally fetches it from there (the repository's allowScripts approves that script,
 * which npm 11 runs only when approved), so it is missing where that host is unreachable, as on the test
 * machines (only the npm registry is reachable), or when npm skipped the script. Generating the client
 * does not run that engine (the schema is read by WASM), so when the binary is missing any existing
 * file stands in for it through Prisma's own override variable.
 */
function engineOverride(): Record<string, string> {
  const engines = dirname(require.resolve('@prisma/engines/package.json'));
  const present = readdirSync(engines).some((file) => file.startsWith('schema-engine'));
  return present ? {} : { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath };
}

describe('Prisma 7 with @prisma/adapter-pg on createPool', () => {
  before(() => {
    const result = spawnSync(process.execPath, [prismaCli, 'generate', '--config', 'prisma.config.ts'], {
      cwd: folder,
      env: { ...cleanEnv(), CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1', ...engineOverride() },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 0, `prisma generate failed:\n${result.stdout}\n${result.stderr}`);
    assert.ok(existsSync(join(folder, 'generated', 'client.ts')));
  });
  // The generated client is build output: never committed, removed after the run.
  after(() => rmSync(join(folder, 'generated'), { recursive: true, force: true }));

  for (const [cloud, role] of [
    ['azure', 'orders-api'],
    ['aws', 'app_user'],
    ['gcp', 'orders@pg-passwordless-emulator.iam'],
  ] as const) {
    it(`${cloud}: the generated client creates, counts and queries as ${role} through the app's pool`, async () => {
      const emulator = await startEmulator({ cloud });
      try {
        const result = await runScript(join(folder, 'prisma.mjs'), [], emulator.env, 60_000);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.output, { role, notes: 1, ownPoolUsed: true });
      } finally {
        await emulator.stop();
      }
    });
  }
});
