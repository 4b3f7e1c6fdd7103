// One benchmark client per process (the Azure SDK keeps managed-identity state process-wide).
// Usage: worker.ts <approach> <job> ; prints one JSON line of measurements, never a token.
import { DefaultAzureCredential } from '@azure/identity';
import pg from 'pg';
import { setDatabaseConnectionParams } from 'pg-passwordless';
import { createPool, pgConfig } from 'pg-passwordless/pg';

const [approach, job] = process.argv.slice(2) as ['passwordless' | 'reference' | 'static-password', string];
const env = process.env;
const SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';
const count = Number(env.BENCH_COUNT ?? 50);
const base = { host: env.PGHOST, port: Number(env.PGPORT), database: env.PGDATABASE, user: env.PGUSER };

/** The password function each approach gives the driver. */
async function passwordFunction(): Promise<{ password: () => Promise<string>; ssl: object }> {
  if (approach === 'passwordless') {
    const params = await setDatabaseConnectionParams(
      `postgresql://${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}`,
    );
    return { password: params.password as () => Promise<string>, ssl: params.ssl as object };
  }
  if (approach === 'reference') {
    // What the reference plugin does: one credential, getToken(scope) on every new connection.
    const credential = new DefaultAzureCredential();
    return {
      password: async () => (await credential.getToken(SCOPE)).token,
      ssl: { ca: env.NODE_EXTRA_CA_CERTS_PEM },
    };
  }
  return {
    password: async () => env.BENCH_STATIC_PASSWORD as string,
    ssl: { ca: env.NODE_EXTRA_CA_CERTS_PEM },
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/**
 * A pool opens `count` connections in one burst, then keeps all of them busy for a while: when do
 * they log in again? `pg-pool-fixed` is pg-pool's own maxLifetimeSeconds (one number for all),
 * `passwordless` is createPool (each connection its own lifetime, ±10%).
 */
async function recycleTimes(lifetimeSeconds: number, runMs: number): Promise<number[]> {
  const url = `postgresql://${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}`;
  const options = { max: count, maxLifetimeSeconds: lifetimeSeconds, idleTimeoutMillis: 0 };
  const pool =
    approach === 'passwordless'
      ? await createPool(url, { pg, pool: options })
      : new pg.Pool({ ...(await pgConfig(url)), ...options });
  const started = performance.now();
  const loginsMs: number[] = [];
  pool.on('connect', () => loginsMs.push(performance.now() - started));
  const worker = async () => {
    while (performance.now() - started < runMs) {
      const client = await pool.connect();
      await client.query('select pg_sleep(0.05)');
      client.release();
    }
  };
  await Promise.all(Array.from({ length: count }, worker));
  await pool.end();
  return loginsMs;
}

if (job === 'recycle') {
  const lifetimeSeconds = Number(env.BENCH_LIFETIME_SECONDS ?? 10);
  const loginsMs = await recycleTimes(lifetimeSeconds, lifetimeSeconds * 1000 * 1.3);
  // The second logins: every connection of the burst, logging in again at the end of its lifetime.
  const again = loginsMs.filter((ms) => ms > lifetimeSeconds * 500).sort((a, b) => a - b);
  let busiestSecond = 0;
  for (const start of again)
    busiestSecond = Math.max(busiestSecond, again.filter((ms) => ms >= start && ms < start + 1000).length);
  console.log(
    JSON.stringify({
      relogins: again.length,
      windowMs: again.length > 0 ? (again.at(-1) as number) - (again[0] as number) : 0,
      busiestSecond,
    }),
  );
  process.exit(0);
}

const { password, ssl } = await passwordFunction();

/**
 * A new connection every BENCH_INTERVAL_MS for BENCH_DURATION_MS, each one logging in and running one
 * query, whatever the others are doing (a busy server opening connections on demand). Counts the
 * failures and how long a failing one took to fail.
 */
async function steadyConnections(): Promise<Record<string, number>> {
  const durationMs = Number(env.BENCH_DURATION_MS ?? 60_000);
  const intervalMs = Number(env.BENCH_INTERVAL_MS ?? 100);
  const attempts: Array<Promise<{ ok: boolean; ms: number }>> = [];
  const attempt = async () => {
    const started = performance.now();
    const client = new pg.Client({ ...base, user: env.BENCH_USER ?? base.user, password, ssl });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return { ok: true, ms: performance.now() - started };
    } catch {
      return { ok: false, ms: performance.now() - started };
    } finally {
      await client.end().catch(() => {});
    }
  };
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    attempts.push(attempt());
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  // Attempts still waiting on the identity endpoint get 30 s more, then count as failed.
  const results = await Promise.all(
    attempts.map((pending) =>
      Promise.race([
        pending,
        new Promise<{ ok: boolean; ms: number }>((resolve) =>
          setTimeout(() => resolve({ ok: false, ms: 30_000 }), 30_000).unref(),
        ),
      ]),
    ),
  );
  const failedMs = results.filter((result) => !result.ok).map((result) => result.ms);
  return {
    attempts: results.length,
    failed: failedMs.length,
    failP50Ms: percentile(failedMs, 50),
    failMaxMs: Math.max(0, ...failedMs),
  };
}

if (job === 'steady') {
  console.log(JSON.stringify(await steadyConnections()));
  process.exit(0);
}

if (job === 'cold-burst') {
  // N concurrent password() calls on a cold process: a pool opening N connections at once.
  await Promise.all(Array.from({ length: count }, () => password()));
  console.log(JSON.stringify({ calls: count }));
} else if (job === 'connections') {
  // N new physical connections one after another, each logging in and running one query.
  const timesMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const client = new pg.Client({ ...base, user: env.BENCH_USER ?? base.user, password, ssl });
    await client.connect();
    await client.query('select 1');
    timesMs.push(performance.now() - started);
    await client.end();
  }
  console.log(
    JSON.stringify({ connections: count, p50Ms: percentile(timesMs, 50), p95Ms: percentile(timesMs, 95) }),
  );
} else {
  throw new Error(`unknown job ${job}`);
}
