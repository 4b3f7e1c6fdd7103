import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPool, type PgPoolLike, pgConfig, retryRejectedLogin } from '../../src/adapters/pg.ts';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import type { Settings, TokenCredentialLike } from '../../src/core/settings.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';

/** A pool whose connect() fails with the given errors first, then succeeds: the subset of pg.Pool we touch. */
function scriptedPool(failures: Array<{ code: string }>) {
  let calls = 0;
  const client = { release: () => {} };
  const pool = {
    connect(callback?: (error: Error | undefined, client?: unknown, release?: () => void) => void) {
      calls++;
      const failure = failures.shift();
      const result = failure
        ? Promise.reject(Object.assign(new Error('login failed'), failure))
        : Promise.resolve(client);
      if (!callback) return result;
      result.then(
        (c) => callback(undefined, c, client.release),
        (error) => callback(error),
      );
      return undefined;
    },
    query: async () => ({ rows: [] }),
    end: async () => {},
    on: () => pool,
  };
  return { pool: pool as unknown as PgPoolLike, calls: () => calls, client };
}

describe('retryRejectedLogin', () => {
  it('drops the cached token and retries a rejected login once', async () => {
    let invalidations = 0;
    const { pool, calls, client } = scriptedPool([{ code: '28000' }]);
    retryRejectedLogin(pool, { onLoginRejected: () => invalidations++ });
    assert.equal(await pool.connect(), client);
    assert.equal(calls(), 2);
    assert.equal(invalidations, 1);
  });

  it('retries only once, and never for other errors', async () => {
    const twice = scriptedPool([{ code: '28P01' }, { code: '28P01' }]);
    retryRejectedLogin(twice.pool, { onLoginRejected: () => {} });
    await assert.rejects(twice.pool.connect(), {
      code: 'TOKEN_REJECTED',
      message: /refused a fresh token too: login failed/,
    });
    assert.equal(twice.calls(), 2);
    const other = scriptedPool([{ code: '53300' }]);
    retryRejectedLogin(other.pool, { onLoginRejected: () => assert.fail('not a login rejection') });
    await assert.rejects(other.pool.connect(), { code: '53300' });
    assert.equal(other.calls(), 1);
  });

  it('keeps the callback form that pg-pool’s own query() uses', async () => {
    const { pool, client } = scriptedPool([{ code: '28000' }]);
    retryRejectedLogin(pool, { onLoginRejected: () => {} });
    const got = await new Promise((resolve, reject) =>
      pool.connect((error, c) => (error ? reject(error) : resolve(c))),
    );
    assert.equal(got, client);
  });
});

describe('pg adapter against the emulator', () => {
  let emulator: Emulator;
  // The gateway's clock runs ahead of ours by this much: a skewed server clock.
  let serverSkewMs = 0;
  const url = () =>
    `postgresql://orders-api@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;

  /** Any TokenCredential works: this one asks the emulator's App Service endpoint directly. */
  const credential: TokenCredentialLike = {
    async getToken(scope) {
      const resource = String(scope).replace(/\/\.default$/, '');
      const response = await fetch(
        `${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${resource}`,
        {
          headers: { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER as string },
        },
      );
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
  const settings = (): Settings => ({
    azure: { enabled: true, credential },
    tls: { caFile: emulator.caPath },
    env: {},
    caches: createCacheRegistry(),
  });

  before(async () => {
    emulator = await startEmulator({
      backend: 'pglite',
      tokenLifetimeSeconds: 3600,
      now: () => Date.now() + serverSkewMs,
    });
  });
  after(() => emulator?.stop());

  it('gives a config to spread into pg.Pool, with the token function hidden from JSON', async () => {
    const config = await pgConfig(url(), settings());
    assert.equal(config.user, 'orders-api');
    assert.equal(config.maxLifetimeSeconds, 1800);
    assert.equal(typeof config.password, 'function');
    assert.ok(!JSON.stringify(config).includes('password'));
    const pool = new pg.Pool({ ...config, password: config.password });
    const { rows } = await pool.query('select current_user as role');
    assert.equal(rows[0].role, 'orders-api');
    await pool.end();
  });

  it('recovers when the server rejects a cached token (server clock ahead): invalidate, fetch, retry once', async () => {
    const pool = await createPool(url(), { settings: settings(), pool: { max: 2, idleTimeoutMillis: 1 } });
    try {
      const first = await pool.query('select 1');
      assert.equal(first.rows.length, 1);
      // Let the idle connection go, then move the server's clock past the cached token's expiry.
      await new Promise((resolve) => setTimeout(resolve, 50));
      serverSkewMs = 2 * 3600_000;
      const tokensBefore = emulator.counters().tokensIssued;
      const rejectedBefore = emulator.counters().gateway.loginsRejected;
      const { rows } = await pool.query('select current_user as role');
      assert.equal(rows[0]?.role, 'orders-api');
      assert.equal(
        emulator.counters().gateway.loginsRejected - rejectedBefore,
        1,
        'the old token was refused once',
      );
      assert.equal(emulator.counters().tokensIssued - tokensBefore, 1, 'one new token was fetched');
    } finally {
      serverSkewMs = 0;
      await pool.end();
    }
  });

  it('refuses to send a token without TLS unless told to', async () => {
    await assert.rejects(pgConfig(`${url()}?sslmode=disable`, settings()), { code: 'TLS_REQUIRED' });
  });
});
