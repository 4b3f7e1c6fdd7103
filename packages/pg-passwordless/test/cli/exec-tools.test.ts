// Real migration tools run by `pg-passwordless exec` against the emulator, each checked by what it left
// in the database. node-pg-migrate and drizzle-kit connect with node-postgres, which reads the password
// file. Prisma's schema engine and Studio read none, so they get --token-in-url, or the proxy's URL.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { freePort } from '../../../pg-passwordless-emulator/src/free-port.ts';
import { engineScriptPolicy, missingSchemaEngine } from '../helpers/prisma-engine.ts';
import {
  datasourceUrl,
  RECORDER_ANSWER,
  writeSchemaEngineRecorder,
} from '../helpers/schema-engine-recorder.ts';
import { type RunningCli, repoRoot, runCli, runProgram, startCli, startProgram } from './run-cli.ts';

const bins = join(repoRoot, 'node_modules', '.bin');

/** Hides anything as long as a token (a child may echo a URL that holds one) before it goes into a message. */
function redact(text: string): string {
  return text.replace(/[\w%.~-]{100,}/g, '<redacted>');
}

/**
 * A Prisma project: a config that takes the URL from DATABASE_URL, a schema, and one migration that
 * creates `table`, named `migrationName(table)`. All paths are absolute, since exec runs Prisma from the
 * repository root.
 */
function writePrismaProject(folder: string, table: string): string {
  const migration = join(folder, 'migrations', migrationName(table));
  mkdirSync(migration, { recursive: true });
  writeFileSync(
    join(folder, 'schema.prisma'),
    `datasource db {\n  provider = "postgresql"\n}\n\nmodel Gadget {\n  id   Int    @id @default(autoincrement())\n  name String\n\n  @@map("${table}")\n}\n`,
  );
  writeFileSync(
    join(migration, 'migration.sql'),
    `CREATE TABLE "${table}" ("id" SERIAL NOT NULL, "name" TEXT NOT NULL, CONSTRAINT "${table}_pkey" PRIMARY KEY ("id"));\n`,
  );
  writeFileSync(join(folder, 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
  // A plain object rather than defineConfig: 'prisma/config' does not resolve from a temporary folder.
  const config = join(folder, 'prisma.config.ts');
  writeFileSync(
    config,
    `export default {\n  schema: ${JSON.stringify(join(folder, 'schema.prisma'))},\n` +
      `  migrations: { path: ${JSON.stringify(join(folder, 'migrations'))} },\n` +
      '  datasource: { url: process.env.DATABASE_URL },\n};\n',
  );
  return config;
}

/** The name of the migration that creates `table` (one per table: all projects share one database). */
function migrationName(table: string): string {
  return `20240101000000_create_${table}`;
}

/** The `aud` claim of a JWT, or undefined when `token` is not one; never the token itself. */
function jwtAudience(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).aud;
  } catch {
    return undefined;
  }
}

describe('pg-passwordless exec with migration tools (Azure)', () => {
  let emulator: Emulator;
  let folder: string;
  // No update check over the network from Prisma's CLI.
  let prismaEnv: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-exec-tools-'));
    prismaEnv = { ...emulator.env, CHECKPOINT_DISABLE: '1' };
  });
  after(async () => {
    await emulator?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** Runs one statement with psql through exec; returns its rows, unaligned (columns joined by "|"). */
  async function psql(sql: string): Promise<string> {
    const result = await runCli(
      ['exec', '--', 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      emulator.env,
    );
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
  }

  it('node-pg-migrate up creates the table, logging in with the password file', async () => {
    const migrations = join(folder, 'node-pg-migrate');
    mkdirSync(migrations);
    writeFileSync(
      join(migrations, '1700000000000_create-invoices.sql'),
      '-- Up Migration\nCREATE TABLE invoices (id serial PRIMARY KEY, total numeric NOT NULL);\n\n' +
        '-- Down Migration\nDROP TABLE invoices;\n',
    );
    // No --token-in-url: node-pg-migrate gives DATABASE_URL, which has no password, to node-postgres,
    // and node-postgres 8 then reads PGPASSFILE (it warns that pg 9 will stop doing so).
    const result = await runCli(
      ['exec', '--', join(bins, 'node-pg-migrate'), 'up', '-m', migrations],
      emulator.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      await psql(
        "select to_regclass('public.invoices') is not null, (select string_agg(name, ',') from pgmigrations)",
      ),
      't|1700000000000_create-invoices',
    );
  });

  it('drizzle-kit migrate applies a migration, logging in with the password file', async () => {
    const out = join(folder, 'drizzle');
    mkdirSync(join(out, 'meta'), { recursive: true });
    const sql = 'CREATE TABLE "widgets" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"name" text NOT NULL\n);\n';
    writeFileSync(join(out, '0000_create_widgets.sql'), sql);
    // The journal that `drizzle-kit generate` writes next to its SQL files; migrate runs its entries.
    const journal = {
      version: '7',
      dialect: 'postgresql',
      entries: [{ idx: 0, version: '7', when: 1700000000000, tag: '0000_create_widgets', breakpoints: true }],
    };
    writeFileSync(join(out, 'meta', '_journal.json'), JSON.stringify(journal, null, 2));
    const config = join(folder, 'drizzle.config.ts');
    writeFileSync(
      config,
      `export default {\n  dialect: 'postgresql',\n  out: ${JSON.stringify(out)},\n` +
        '  dbCredentials: { url: process.env.DATABASE_URL },\n};\n',
    );
    // drizzle-kit accepts only a string password (no function, drizzle-team/drizzle-orm#4312). No
    // --token-in-url is needed: it passes the URL, which has no password, to node-postgres (its driver
    // when pg is installed), which reads PGPASSFILE.
    const result = await runCli(
      ['exec', '--', join(bins, 'drizzle-kit'), 'migrate', '--config', config],
      emulator.env,
      60_000,
    );
    assert.equal(result.code, 0, result.stderr);
    // drizzle records each migration as the SHA-256 of its SQL file.
    const hash = createHash('sha256').update(sql).digest('hex');
    assert.equal(
      await psql(
        "select to_regclass('public.widgets') is not null, (select string_agg(hash, ',') from drizzle.__drizzle_migrations)",
      ),
      `t|${hash}`,
    );
  });

  /**
   * The reason to skip a `prisma migrate` run that failed because Prisma could not download its schema
   * engine (it says why npm's install left it missing and what to run), else undefined.
   */
  function skipReason(result: { code: number | null; stderr: string }): string | undefined {
    return result.code === 0
      ? undefined
      : missingSchemaEngine(result.stderr, engineScriptPolicy(repoRoot), redact);
  }

  /** Whether Prisma's migrations table records `table`'s migration as applied, and the table exists. */
  async function migrated(table: string): Promise<boolean> {
    const applied = await psql(
      `select to_regclass('public.${table}') is not null and exists (select from _prisma_migrations ` +
        `where migration_name = '${migrationName(table)}' and finished_at is not null)`,
    );
    return applied === 't';
  }

  it('prisma migrate deploy applies a migration with --token-in-url (skipped when the schema engine is missing)', async (t) => {
    const config = writePrismaProject(join(folder, 'prisma-migrate'), 'gadgets');
    // --token-in-url: Prisma's schema engine reads no password file.
    const result = await runCli(
      ['exec', '--token-in-url', '--', join(bins, 'prisma'), 'migrate', 'deploy', '--config', config],
      prismaEnv,
      60_000,
    );
    const missing = skipReason(result);
    if (missing) {
      t.skip(missing);
      return;
    }
    assert.equal(result.code, 0, redact(result.stderr));
    assert.equal(await migrated('gadgets'), true);
  });

  it('prisma migrate deploy with --token-in-url hands the token to the schema engine in its argument list', async () => {
    // Prisma 7.5 starts its engine as `schema-engine --datasource {"url":...}`: the one-shot check that
    // the database exists, then the JSON-RPC server that runs the migrations, alive for the whole run.
    // The URL, token included, is in their argument lists, where `ps` shows it to every user of the
    // machine (Prisma hides it only in its own error messages). The recorder stands in for the engine.
    const config = writePrismaProject(join(folder, 'prisma-argv'), 'argv_gadgets');
    const engine = writeSchemaEngineRecorder(join(folder, 'prisma-argv-engine'));
    const result = await runCli(
      ['exec', '--token-in-url', '--', join(bins, 'prisma'), 'migrate', 'deploy', '--config', config],
      { ...prismaEnv, ...engine.env },
      60_000,
    );
    assert.match(result.stderr, new RegExp(RECORDER_ANSWER), redact(result.stderr));
    const starts = engine.starts();
    assert.deepEqual(
      starts.map((argv) => argv.filter((arg) => !arg.startsWith('{') && !arg.startsWith('/'))),
      [
        ['--datasource', 'cli', 'can-connect-to-database'],
        ['--datamodels', '--datasource'],
      ],
    );
    for (const argv of starts) {
      const url = new URL(datasourceUrl(argv) ?? '');
      assert.equal(url.username, 'orders-api');
      assert.equal(
        jwtAudience(decodeURIComponent(url.password)),
        'https://ossrdbms-aad.database.windows.net',
        "the password in the engine's arguments is the Entra token",
      );
    }
  });

  it('prisma migrate deploy through pg-passwordless proxy applies a migration (skipped when the schema engine is missing)', async (t) => {
    const proxy = startCli(['proxy', '--listen', '127.0.0.1:0'], emulator.env, 120_000);
    try {
      await proxy.waitFor('connect with: ');
      const url = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
      const config = writePrismaProject(join(folder, 'prisma-migrate-proxy'), 'proxy_gadgets');
      // Prisma runs on its own: the URL it passes to its engine names the proxy and holds no secret; the
      // proxy logs each of the engine's connections in with a current token.
      const result = await runProgram(
        join(bins, 'prisma'),
        ['migrate', 'deploy', '--config', config],
        { CHECKPOINT_DISABLE: '1', DATABASE_URL: url },
        60_000,
      );
      const missing = skipReason(result);
      if (missing) {
        t.skip(missing);
        return;
      }
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await migrated('proxy_gadgets'), true);
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.done;
    }
  });

  /**
   * Starts Prisma Studio with `command` (its own argv prefix, e.g. through exec), sends it `sql` the way
   * its browser page does (POST /bff: Studio's own endpoint, not a published API, so prisma is pinned to
   * an exact version), stops it, and returns Studio's answer: [error, rows].
   */
  async function throughStudio(
    start: (studioCommand: string[]) => RunningCli,
    config: string,
    sql: string,
  ): Promise<unknown> {
    const port = await freePort();
    const studio = start([
      join(bins, 'prisma'),
      'studio',
      '--config',
      config,
      '--port',
      String(port),
      '--browser',
      'none',
    ]);
    try {
      await studio.waitFor('Prisma Studio is running at').catch((error: Error) => {
        throw new Error(redact(error.message));
      });
      const response = await fetch(`http://127.0.0.1:${port}/bff`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ procedure: 'query', query: { sql, parameters: [] } }),
      });
      assert.equal(response.status, 200);
      return await response.json();
    } finally {
      studio.child.kill('SIGTERM'); // exec passes it on to Studio
      await studio.done;
    }
  }

  it('prisma studio runs the SQL it is sent, with --token-in-url', async () => {
    // Studio needs no schema engine: it connects with postgres.js, which reads no password file, so
    // it needs the token in DATABASE_URL.
    const config = writePrismaProject(join(folder, 'prisma-studio'), 'studio_gadgets');
    const answer = await throughStudio(
      (studio) => startCli(['exec', '--token-in-url', '--', ...studio], prismaEnv, 60_000),
      config,
      'create table studio_notes as select current_user::text as author',
    );
    assert.deepEqual(answer, [null, []], "Studio's answer (an error first)");
    assert.equal(await psql('select author from studio_notes'), 'orders-api');
  });

  it('prisma studio through pg-passwordless proxy: Studio gets a plain URL, no token anywhere', async () => {
    const proxy = startCli(['proxy', '--listen', '127.0.0.1:0'], emulator.env, 120_000);
    try {
      await proxy.waitFor('connect with: ');
      const url = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
      const config = writePrismaProject(join(folder, 'prisma-studio-proxy'), 'studio_proxy_gadgets');
      // Studio runs on its own, not through exec: all it gets is the proxy's URL, which holds no secret.
      const answer = await throughStudio(
        ([file, ...args]) =>
          startProgram(file as string, args, { CHECKPOINT_DISABLE: '1', DATABASE_URL: url }, 60_000),
        config,
        'create table studio_proxy_notes as select current_user::text as author',
      );
      assert.deepEqual(answer, [null, []], "Studio's answer (an error first)");
      assert.equal(await psql('select author from studio_proxy_notes'), 'orders-api');
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.done;
    }
  });
});
