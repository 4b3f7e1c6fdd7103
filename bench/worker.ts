// One benchmark client per process (the Azure SDK keeps managed-identity state process-wide).
// Usage: worker.ts <approach> <job> ; prints one JSON line of measurements, never a token.
import { DefaultAzureCredential } from '@azure/identity';
import pg from 'pg';
import { setDatabaseConnectionParams } from '../src/index.ts';

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

const { password, ssl } = await passwordFunction();
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
