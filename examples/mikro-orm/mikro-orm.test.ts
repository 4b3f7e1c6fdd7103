import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const nodeRunsMikroOrm7 = major > 22 || (major === 22 && minor >= 17);

describe('MikroORM with pgConfig', () => {
  for (const [cloud, role] of [
    ['azure', 'orders-api'],
    ['aws', 'app_user'],
  ] as const) {
    it(`6.6 (knex): ${cloud}: updates the schema, persists and counts as ${role}`, async () => {
      const emulator = await startEmulator({ cloud });
      try {
        const result = await runScript(here('./mikro-orm-6.ts'), [], emulator.env, 60_000);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.output, { role, notes: 1 });
      } finally {
        await emulator.stop();
      }
    });
  }

  // MikroORM 7 needs Node 22.17 and cannot sit beside 6 in the repository's tree: on a Node that runs
  // it, it is installed from the registry into a temporary folder, with pg-passwordless linked in
  // (the built package; its optional peers such as @azure/identity resolve from the repository).
  it('7.2 (Kysely + pg.Pool): azure: updates the schema, persists and counts as orders-api', async (t) => {
    if (!nodeRunsMikroOrm7) {
      t.skip('MikroORM 7 needs Node >= 22.17');
      return;
    }
    const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-mikro-orm-7-'));
    const emulator = await startEmulator({ cloud: 'azure' });
    try {
      writeFileSync(join(folder, 'package.json'), '{ "private": true, "type": "module" }\n');
      const install = spawnSync(
        'npm',
        [
          'install',
          '--prefix',
          folder,
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          '--prefer-offline',
          '@mikro-orm/core@7.2.5',
          '@mikro-orm/postgresql@7.2.5',
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
      symlinkSync(
        here('../../packages/pg-passwordless'),
        join(folder, 'node_modules', 'pg-passwordless'),
        'dir',
      );
      copyFileSync(here('./mikro-orm-7.mjs'), join(folder, 'mikro-orm-7.mjs'));

      const result = await runScript(join(folder, 'mikro-orm-7.mjs'), [], emulator.env, 60_000);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.output, { role: 'orders-api', notes: 1 });
    } finally {
      await emulator.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
