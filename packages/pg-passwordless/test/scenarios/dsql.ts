// One Aurora DSQL scenario per process (the AWS SDK's default chain reads this process's environment),
// run by test/plugins/dsql-plugin.test.ts against the emulator (`--cloud aws --service dsql`). Prints one
// JSON line of facts, never a token: of a token, only its Action is printed.
import postgres from 'postgres';
import { createPool } from '../../src/adapters/pg.ts';
import { postgresOptions } from '../../src/adapters/postgres.ts';

const [scenario] = process.argv.slice(2);
const env = process.env;
const urlFor = (user: string) =>
  `postgresql://${encodeURIComponent(user)}@${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}`;
const users = (env.SCENARIO_USERS ?? 'admin,app_user').split(',');
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));
/** The action a token was signed for, read from the token; the token itself is never printed. */
const actionOf = (token: string) => new URLSearchParams(token.slice(token.indexOf('/?') + 2)).get('Action');

switch (scenario) {
  case 'pool': {
    // createPool for each role: its own token (its own action), its own cache.
    const facts: Record<string, unknown> = {};
    for (const user of users) {
      const pool = await createPool(urlFor(user));
      const { rows } = await pool.query('select current_user as role');
      facts[user] = {
        role: rows[0]?.role,
        action: actionOf((await pool.token?.getToken()) ?? ''),
        fetches: pool.token?.stats().fetches,
      };
      await pool.end();
    }
    print(facts);
    break;
  }
  case 'postgres-js': {
    const facts: Record<string, unknown> = {};
    for (const user of users) {
      const options = await postgresOptions(urlFor(user));
      const sql = postgres({ ...options, max: 2 });
      const [row] = await sql`select current_user as role`;
      facts[user] = { role: row?.role, action: actionOf((await options.token?.getToken()) ?? '') };
      await sql.end();
    }
    print(facts);
    break;
  }
  case 'pool-after-cap': {
    // An idle pooled connection is ended by the server at its session cap; the pool drops it and the
    // next query logs in again, with the cached token.
    const pool = await createPool(urlFor(users[0] as string), {
      pool: { max: 1, idleTimeoutMillis: 60_000 },
    });
    const ended = new Promise<Error>((resolve) => pool.on('error', resolve));
    const first = await pool.query('select current_user as role');
    const error = await ended;
    const second = await pool.query('select current_user as role');
    print({
      roles: [first.rows[0]?.role, second.rows[0]?.role],
      poolError: error.message,
      fetches: pool.token?.stats().fetches,
    });
    await pool.end();
    break;
  }
  case 'postgres-js-after-cap': {
    // postgres.js: the connection closed by the server at the cap, the next query opens a new one.
    let closed: () => void = () => undefined;
    const closedOnce = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const options = await postgresOptions(urlFor(users[0] as string));
    const sql = postgres({ ...options, max: 1, onclose: () => closed() });
    const [first] = await sql`select current_user as role`;
    await closedOnce;
    const [second] = await sql`select current_user as role`;
    print({ roles: [first?.role, second?.role], fetches: options.token?.stats().fetches });
    await sql.end();
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
