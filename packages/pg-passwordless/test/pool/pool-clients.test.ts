// Which client settings work through the pool, in which pool mode. PgBouncer 1.18 does not carry
// protocol-level prepared statements from one server connection to another in transaction mode (1.21
// does, with max_prepared_statements). Each case forces the interleaving that shows it: client A
// prepares on server connection S1, client B then holds S1 in a transaction, and A's next execution
// goes to a new server connection S2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import postgres from 'postgres';
import { cleanEnv, runScript } from '../helpers/run-scenario.ts';
import { type PoolCli, startPoolCli, stopPool } from './run-pool.ts';

/** A's statement, then B holds the only server connection A used, then A's statement again. */
async function interleaved<T>(
  first: () => Promise<T>,
  holdTheServer: () => Promise<() => Promise<void>>,
  again: () => Promise<T>,
): Promise<T> {
  await first();
  const release = await holdTheServer();
  try {
    return await again();
  } finally {
    await release();
  }
}

/** node-postgres's clients A and B, and A's query (named when `name` is given). */
async function withPgClients<T>(url: string, run: (a: pg.Client, b: pg.Client) => Promise<T>): Promise<T> {
  const [a, b] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
  await Promise.all([a.connect(), b.connect()]);
  try {
    return await run(a, b);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}

function pgCase(url: string, name: string | undefined): Promise<number> {
  return withPgClients(url, (a, b) => {
    const query = async (value: number) =>
      (await a.query({ ...(name ? { name } : {}), text: 'select $1::int as n', values: [value] })).rows[0].n;
    return interleaved(
      () => query(1),
      async () => {
        await b.query('begin');
        return async () => void (await b.query('commit'));
      },
      () => query(2),
    );
  });
}

/**
 * postgres.js prepares a statement again when the server says it does not know it (it retries on the
 * error of routine FetchPreparedStatement), which hides the loss outside a transaction; inside one, the
 * first error has aborted the transaction, the retry fails too, and the query fails with the first error.
 * So A's second query runs in a transaction.
 */
async function postgresJsCase(url: string, prepare: boolean): Promise<number> {
  const [a, b] = [postgres(url, { max: 1, prepare }), postgres(url, { max: 1, prepare })];
  const query = async (value: number) => (await a`select ${value}::int as n`)[0]?.n as number;
  const queryInTransaction = (value: number) =>
    a.begin(async (tx) => (await tx`select ${value}::int as n`)[0]?.n as number) as Promise<number>;
  try {
    return await interleaved(
      () => query(1),
      async () => {
        const held = await b.reserve();
        await held`begin`;
        return async () => {
          await held`commit`;
          held.release();
        };
      },
      () => queryInTransaction(2),
    );
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
}

describe('clients through pg-passwordless pool', () => {
  let emulator: Emulator;
  let transaction: PoolCli;
  let session: PoolCli;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    const args = ['--listen', '127.0.0.1:0', '--pool-size', '4'];
    transaction = await startPoolCli([...args, '--pool-mode', 'transaction'], emulator.env);
    session = await startPoolCli(args, emulator.env);
  });
  after(async () => {
    for (const pool of [transaction, session]) if (pool) assert.equal((await stopPool(pool)).code, 0);
    await emulator?.stop();
  });

  it('pg: unnamed statements (any parameterized query) work in transaction mode; a named one does not', async () => {
    assert.equal(await pgCase(transaction.url, undefined), 2);
    await assert.rejects(pgCase(transaction.url, 'by-name'), {
      code: '26000',
      message: /prepared statement "by-name" does not exist/,
    });
  });

  it('pg: named statements work in session mode (the default)', async () => {
    assert.equal(await pgCase(session.url, 'by-name'), 2);
  });

  it('postgres.js: prepare: false works in transaction mode; its default (prepare: true) does not', async () => {
    assert.equal(await postgresJsCase(transaction.url, false), 2);
    await assert.rejects(postgresJsCase(transaction.url, true), { code: '26000' });
  });

  it('postgres.js: its defaults work in session mode', async () => {
    assert.equal(await postgresJsCase(session.url, true), 2);
  });

  it('Prisma through @prisma/adapter-pg on a pg.Pool of the pool’s URL, in transaction mode', async () => {
    const client = generatePrismaClient();
    try {
      const result = await runScript(
        fileURLToPath(new URL('./fixtures/prisma-through-pool.ts', import.meta.url)),
        [join(client, 'generated', 'client.ts')],
        { POOL_URL: transaction.url },
        120_000,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.output, { role: 'orders-api', notes: 41, inTransaction: 1 });
    } finally {
      rmSync(client, { recursive: true, force: true });
    }
  });
});

/**
 * Generates a Prisma client for the fixture's model into a folder of this run (beside this file, so
 * that it resolves the repository's @prisma packages); the same way as examples/prisma's test, whose
 * notes on the schema engine binary apply here too.
 */
function generatePrismaClient(): string {
  const require = createRequire(import.meta.url);
  const folder = fileURLToPath(new URL(`./.prisma-${process.pid}`, import.meta.url));
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'schema.prisma'),
    [
      'generator client {\n  provider = "prisma-client"\n  output   = "./generated"\n}',
      'datasource db {\n  provider = "postgresql"\n}',
      'model Note {\n  id   Int    @id @default(autoincrement())\n  body String\n\n  @@map("pool_prisma_notes")\n}',
      '',
    ].join('\n\n'),
  );
  writeFileSync(
    join(folder, 'prisma.config.ts'),
    "import { defineConfig } from 'prisma/config';\n\nexport default defineConfig({ schema: 'schema.prisma' });\n",
  );
  const engines = dirname(require.resolve('@prisma/engines/package.json'));
  const engine = readdirSync(engines).some((file) => file.startsWith('schema-engine'))
    ? {}
    : { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath };
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  const result = spawnSync(process.execPath, [cli, 'generate', '--config', 'prisma.config.ts'], {
    cwd: folder,
    env: { ...cleanEnv(), CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1', ...engine },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `prisma generate failed:\n${result.stdout}\n${result.stderr}`);
  return folder;
}
