// One connection-contract scenario per process (the real SDKs keep credentials and tokens
// process-wide), run by test/contract/contract.test.ts against the emulator. Prints JSON lines of
// facts, never a token.
import { existsSync } from 'node:fs';
import { inspect } from 'node:util';
import pg from 'pg';
import { createPool, pgConfig } from '../../src/adapters/pg.ts';

const [scenario] = process.argv.slice(2);
const url = process.env.DATABASE_URL ?? '';
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));

async function showApplicationName(pool: pg.Pool): Promise<unknown> {
  const { rows } = await pool.query<{ application_name: string }>('show application_name');
  return rows[0]?.application_name;
}

/** Waits until the test has done its part (changed the emulator) and says so with a file. */
async function waitForFlag(): Promise<void> {
  const flag = process.env.SCENARIO_FLAG as string;
  while (!existsSync(flag)) await new Promise((resolve) => setTimeout(resolve, 20));
}

switch (scenario) {
  case 'spread': {
    // The README's spread example, exactly as written there.
    const config = await pgConfig(process.env.DATABASE_URL!);
    const pool = new pg.Pool({ ...config, max: 20 });
    const { rows } = await pool.query<{ role: string }>('select current_user as role');
    const token = await config.password?.();
    const shown = [JSON.stringify(config), inspect(config, { showHidden: true, depth: 5 }), String(config)];
    print({
      role: rows[0]?.role,
      passwordSurvivesSpread: typeof { ...config }.password === 'function',
      jsonHasPassword: JSON.stringify(config).includes('password'),
      tokenShown: token !== undefined && shown.some((text) => text.includes(token)),
      tokenHandleFetches: config.token?.stats().fetches,
    });
    await pool.end();
    break;
  }
  case 'application-name': {
    const created = await createPool(url, { pg });
    const spread = new pg.Pool({ ...(await pgConfig(url)) });
    print({ createPool: await showApplicationName(created), spread: await showApplicationName(spread) });
    await Promise.all([created.end(), spread.end()]);
    break;
  }
  case 'invalidate': {
    // Log in once (the token is cached), let the test revoke it at the server, then log in again.
    const pool = await createPool(url, { pg, pool: { max: 1, idleTimeoutMillis: 1 } });
    await pool.query('select 1');
    print({ phase: 'logged-in' });
    await waitForFlag();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the idle connection has gone
    try {
      const { rows } = await pool.query<{ role: string }>('select current_user as role');
      print({ role: rows[0]?.role, stats: pool.token?.stats() });
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      print({ errorCode: code, message, stats: pool.token?.stats() });
    }
    await pool.end();
    break;
  }
  case 'outage': {
    // A token is cached, then the identity endpoint fails: new connections keep logging in.
    const pool = await createPool(url, { pg, pool: { max: 1, idleTimeoutMillis: 1 } });
    await pool.query('select 1');
    print({ phase: 'logged-in' });
    await waitForFlag();
    let failed = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // the idle connection goes: a new login
      await pool.query('select 1').catch(() => failed++);
    }
    print({ connections: 20, failed, fetchFailures: pool.token?.stats().fetchFailures });
    await pool.end();
    break;
  }
  case 'cold-outage': {
    // No token yet and the identity endpoint fails: the connect fails typed, within the budget; after
    // the endpoint recovers, the next connect succeeds.
    const pool = await createPool(url, { pg });
    const startedMs = Date.now();
    const failure = await pool.query('select 1').then(
      () => undefined,
      (error: { code?: string }) => error,
    );
    const elapsedMs = Date.now() - startedMs;
    print({ phase: 'failed' });
    await waitForFlag();
    const { rows } = await pool.query<{ role: string }>('select current_user as role');
    print({ code: failure?.code, elapsedMs, recoveredAs: rows[0]?.role });
    await pool.end();
    break;
  }
  case 'exit-after-failure': {
    // The identity endpoint fails; after pool.end() nothing may keep the process alive (a retry timer).
    const pool = await createPool(url, { pg });
    const failure = await pool.query('select 1').then(
      () => undefined,
      (error: { code?: string }) => error,
    );
    await pool.end();
    print({ code: failure?.code, endedAtMs: Date.now() });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
