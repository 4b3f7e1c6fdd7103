import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

/**
 * Applies versioned SQL files (`NNN_name.sql`) in order, each once, each in its own transaction, and
 * records them in `schema_migrations`. An advisory lock keeps two starting servers from racing.
 * Returns the versions applied by this call.
 */
export async function runMigrations(pool: pg.Pool, folder: string): Promise<string[]> {
  const files = readdirSync(folder)
    .filter((file) => /^\d+_.+\.sql$/.test(file))
    .sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query(
      'create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())',
    );
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      await client.query('begin');
      try {
        await client.query('select pg_advisory_xact_lock(727274)');
        const done = await client.query('select 1 from schema_migrations where version = $1', [version]);
        if (done.rowCount === 0) {
          await client.query(readFileSync(join(folder, file), 'utf8'));
          await client.query('insert into schema_migrations (version) values ($1)', [version]);
          applied.push(version);
        }
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`migration ${version} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    client.release();
  }
  return applied;
}
