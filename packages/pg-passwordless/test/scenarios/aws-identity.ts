// One AWS identity scenario per process (the SDK reads its credential sources from process.env and
// caches what it found), run by the aws identity tests against an emulator playing IRSA or EKS Pod
// Identity. Prints one JSON line of facts, never a token.
// Usage: aws-identity.ts <pool|token-error|live-pool>   env: the emulator's, plus SCENARIO_* below.
import type pg from 'pg';
import { createPool } from '../../src/adapters/pg.ts';
import { PasswordlessError } from '../../src/core/errors.ts';
import { classifyFailure } from '../../src/core/failure.ts';
import { setDatabaseConnectionParams } from '../../src/index.ts';

const [scenario] = process.argv.slice(2);
const env = process.env;
const url = env.DATABASE_URL ?? '';
const settings = { env };
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));

switch (scenario) {
  case 'pool': {
    // SCENARIO_CONNECTIONS cold connections at once, as a pool opening them together.
    const connections = Number(env.SCENARIO_CONNECTIONS ?? 1);
    const pool = await createPool(url, { settings, pool: { max: connections } });
    const clients = await Promise.all(
      Array.from({ length: connections }, () => pool.connect() as Promise<pg.PoolClient>),
    );
    const { rows } = await (clients[0] as pg.PoolClient).query('select current_user as role');
    for (const client of clients) client.release();
    const stats = pool.token?.stats();
    await pool.end();
    print({ role: rows[0]?.role, connections: clients.length, fetches: stats?.fetches });
    break;
  }
  case 'token-error': {
    // One token, as the doctor's token step and every new connection ask for it; the error as a user sees it.
    try {
      const params = await setDatabaseConnectionParams(url, settings);
      await params.token?.getToken();
      print({ failed: false });
    } catch (error) {
      const failure = classifyFailure(error);
      print({
        failed: true,
        passwordlessError: error instanceof PasswordlessError,
        code: (error as PasswordlessError).code,
        retryable: (error as PasswordlessError).retryable,
        reason: failure.reason,
        status: failure.status,
        message: (error as Error).message.split('\nHint: ')[0],
        hint: (error as PasswordlessError).hint,
      });
    }
    break;
  }
  case 'live-pool':
    print(await livePool());
    break;
  default:
    throw new Error(`unknown scenario ${scenario}`);
}

/**
 * A live pool whose every query logs in anew (`maxUses: 1`), kept busy while the credentials that sign
 * its tokens expire and are renewed, until the token cache has refreshed SCENARIO_REFRESHES times in
 * the background (each time before the credentials of the token in use expired), or SCENARIO_DEADLINE_MS.
 */
async function livePool(): Promise<Record<string, unknown>> {
  const refreshes = Number(env.SCENARIO_REFRESHES ?? 3);
  const deadlineMs = Date.now() + Number(env.SCENARIO_DEADLINE_MS ?? 120_000);
  const pool = await createPool(url, { settings, pool: { max: 2, maxUses: 1 } });
  const token = pool.token;
  const tokenExpiries = new Set<number>();
  const failures: string[] = [];
  let queries = 0;
  while ((token?.stats().refreshes ?? 0) < refreshes && Date.now() < deadlineMs) {
    try {
      await pool.query('select 1');
      queries++;
    } catch (error) {
      failures.push((error as Error).message.split('\n')[0] ?? '');
    }
    tokenExpiries.add(token?.expiresAtMs() ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const stats = token?.stats();
  await pool.end();
  const now = Date.now();
  return {
    queries,
    failures,
    refreshes: stats?.refreshes,
    invalidations: stats?.invalidations,
    // Tokens whose credentials (the token ends with them) expired while the pool ran.
    expiredWhileLive: [...tokenExpiries].filter((atMs) => atMs > 0 && atMs <= now).length,
  };
}
