// One AWS or GCP scenario per process (the SDKs cache credentials and metadata answers process-wide),
// run by the aws and gcp plugin tests against the emulator. Prints one JSON line, never a token.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createPool } from '../../src/adapters/pg.ts';
import { setDatabaseConnectionParams } from '../../src/index.ts';

const [scenario] = process.argv.slice(2);
const env = process.env;
const target = `${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}`;
const user = env.SCENARIO_USER ?? env.PGUSER ?? '';
const url = user ? `postgresql://${encodeURIComponent(user)}@${target}` : `postgresql://${target}`;
const settings = { env: { ...env, PGUSER: user } };
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));

switch (scenario) {
  case 'pool': {
    // N concurrent cold connections, as a pool opening them all at once.
    const connections = Number(env.SCENARIO_CONNECTIONS ?? 1);
    const params = await setDatabaseConnectionParams(url, settings);
    const pool = await createPool(url, { settings, pool: { max: connections } });
    const clients = await Promise.all(
      Array.from({ length: connections }, () => pool.connect() as Promise<pg.PoolClient>),
    );
    const { rows } = await (clients[0] as pg.PoolClient).query('select current_user as role');
    for (const client of clients) client.release();
    await pool.end();
    print({
      role: rows[0]?.role,
      user: params.user,
      connections: clients.length,
      signings: params.token?.stats().fetches,
    });
    break;
  }
  case 'psql': {
    // psql logs in with a token the SDK produced, passed in its environment (never on a command line).
    const params = await setDatabaseConnectionParams(url, settings);
    const token = await (params.password as () => Promise<string>)();
    const psql = spawnSync('psql', ['-X', '-At', '-c', 'select current_user'], {
      env: { ...env, PGUSER: params.user, PGPASSWORD: token },
      encoding: 'utf8',
    });
    print({ status: psql.status, stdout: psql.stdout.trim(), stderr: psql.stderr.trim() });
    break;
  }
  case 'reference-aws': {
    // The reference approach: a signer per connection, no cache.
    const { Signer } = await import('@aws-sdk/rds-signer');
    let signings = 0;
    const connections = await openConnectionsWith(async () => {
      signings++;
      return new Signer({
        hostname: env.PGHOST as string,
        port: Number(env.PGPORT),
        username: user,
      }).getAuthToken();
    });
    print({ signings, connections });
    break;
  }
  case 'reference-gcp': {
    // The naive approach: ask google-auth-library for a token on every new connection.
    const { GoogleAuth } = await import('google-auth-library');
    const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/sqlservice.login'] });
    print({ connections: await openConnectionsWith(async () => (await auth.getAccessToken()) as string) });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}

/** Opens SCENARIO_CONNECTIONS connections at once through a plain pg.Pool with the given password function. */
async function openConnectionsWith(password: () => Promise<string>): Promise<number> {
  const connections = Number(env.SCENARIO_CONNECTIONS ?? 1);
  const pool = new pg.Pool({
    host: env.PGHOST,
    port: Number(env.PGPORT),
    database: env.PGDATABASE,
    user,
    password,
    max: connections,
    ssl: { ca: readFileSync(env.PGSSLROOTCERT as string) },
  });
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  for (const client of clients) client.release();
  await pool.end();
  return clients.length;
}
