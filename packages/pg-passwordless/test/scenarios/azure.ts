// One Azure scenario per process, run by test/plugins/azure-plugin.test.ts against the emulator.
// Prints one JSON line of facts about the result; never a token.
import { createPool } from '../../src/adapters/pg.ts';
import { readJwtClaims } from '../../src/core/jwt-claims.ts';
import { setDatabaseConnectionParams } from '../../src/index.ts';

const scenario = process.argv[2];
const env = process.env;
const target = `${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}`;
const url = `postgresql://${encodeURIComponent(env.SCENARIO_USER ?? env.PGUSER ?? '')}@${target}`;
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));

switch (scenario) {
  case 'host': {
    const params = await setDatabaseConnectionParams(url);
    const ssl = params.ssl as { rejectUnauthorized?: boolean; ca?: unknown } | undefined;
    print({
      keys: Object.keys(params).sort(),
      user: params.user,
      passwordIsFunction: typeof params.password === 'function',
      rejectUnauthorized: ssl?.rejectUnauthorized,
      hasCa: ssl?.ca !== undefined,
    });
    break;
  }
  case 'password': {
    const params = await setDatabaseConnectionParams(url);
    const calls = Number(env.SCENARIO_CALLS ?? 1);
    const tokens = await Promise.all(
      Array.from({ length: calls }, () => (params.password as () => Promise<string>)()),
    );
    const claims = readJwtClaims(tokens[0] as string) ?? {};
    print({ distinctTokens: new Set(tokens).size, aud: claims.aud, oid: claims.oid, appid: claims.appid });
    break;
  }
  case 'no-user': {
    const params = await setDatabaseConnectionParams(`postgresql://${target}`, {
      env: { ...env, PGUSER: '' },
    });
    print({ user: params.user });
    break;
  }
  case 'pool': {
    const connections = Number(env.SCENARIO_CONNECTIONS ?? 1);
    const pool = await createPool(url, { pool: { max: connections } });
    const clients = await Promise.all(
      Array.from(
        { length: connections },
        () =>
          pool.connect() as Promise<{
            query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>;
            release: () => void;
          }>,
      ),
    );
    const { rows } = await (
      clients[0] as { query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }> }
    ).query('select current_user as "user"');
    for (const client of clients) client.release();
    await pool.end();
    print({ user: rows[0]?.user, connections: clients.length });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
