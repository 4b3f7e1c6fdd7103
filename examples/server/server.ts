// The example API server. Its only database configuration is a password-less URL (DATABASE_URL, or the
// PG* variables) plus PG_PASSWORDLESS_ENABLED=true and PG_PASSWORDLESS_AZURE_ENABLED=true.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createPool, DEFAULT_MAX_LIFETIME_SECONDS } from 'pg-passwordless/pg';
import { createApp } from './app.ts';
import { runMigrations } from './migrate.ts';

const log = (message: string) => console.log(`[server] ${message}`);
const url = process.env.DATABASE_URL ?? '';

// The plugins give the pool the user, the token function and verified TLS, all from the environment.
const pool = await createPool(url, {
  pg,
  pool: {
    max: Number(process.env.POOL_MAX ?? 5),
    maxLifetimeSeconds: Number(process.env.POOL_MAX_LIFETIME_SECONDS ?? DEFAULT_MAX_LIFETIME_SECONDS),
  },
});
const { token } = pool;
if (!token) {
  console.error(
    '[server] no password-less authentication is configured: set PG_PASSWORDLESS_ENABLED=true and PG_PASSWORDLESS_AZURE_ENABLED=true',
  );
  process.exit(1);
}
pool.on('error', (error) => log(`idle connection error: ${error.message}`));
// Token events carry expiry times and errors, never the token.
token.on((event) => {
  if (event.type === 'token' && event.background)
    log(
      `token refreshed ahead of expiry; the new one is valid until ${new Date(event.expiresAtMs).toISOString()}`,
    );
  if (event.type === 'error')
    log(
      `token refresh failed (${event.background ? 'still serving the current token' : 'no valid token'}): ${(event.error as Error).message}`,
    );
});
pool.on('connect', () => log(`new database connection (pool total ${pool.totalCount})`));

const applied = await runMigrations(pool, fileURLToPath(new URL('./migrations', import.meta.url)));
log(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'migrations: already up to date');
const { rows } = await pool.query<{ role: string }>('select current_user as role');
const expiresAtMs = token.expiresAtMs();
log(
  `logged in as "${rows[0]?.role}" with a token valid until ${expiresAtMs ? new Date(expiresAtMs).toISOString() : 'unknown'}`,
);

const server = createApp({ pool, tokenExpiresAtMs: () => token.expiresAtMs() });
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address() as { address: string; port: number };
  log(`listening on http://${address.address}:${address.port}`);
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  // Ctrl-C reaches the whole process group, and the demo then sends SIGTERM too: close once.
  if (closing) return;
  closing = true;
  log(`${signal}: closing`);
  server.close();
  server.closeIdleConnections();
  await pool.end();
  log('stopped');
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
