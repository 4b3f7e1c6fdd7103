import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import {
  connectionLifetimeMs,
  createPool,
  guardPool,
  type PgPoolLike,
  pgConfig,
  toPgConfig,
} from '../../src/adapters/pg.ts';
import type { TokenHandle } from '../../src/core/contract.ts';
import type { Settings } from '../../src/index.ts';
import { emulatorCredential, emulatorSettings } from '../helpers/emulator-credential.ts';

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

/** A token handle whose invalidate() reports the given outcomes in turn. */
function handle(renewals: boolean[]): TokenHandle & { invalidations: () => number } {
  let invalidations = 0;
  return {
    getToken: async () => 'token',
    invalidate: async () => {
      invalidations++;
      return { renewed: renewals.shift() ?? true };
    },
    expiresAtMs: () => undefined,
    stats: () => {
      throw new Error('not used');
    },
    on: () => () => {},
    invalidations: () => invalidations,
  };
}

describe('guardPool: a refused login', () => {
  it('drops the cached token and retries once when a new token came', async () => {
    const token = handle([true]);
    const { pool, calls, client } = scriptedPool([{ code: '28000' }]);
    guardPool(pool, { token });
    assert.equal(await pool.connect(), client);
    assert.equal(calls(), 2);
    assert.equal(token.invalidations(), 1);
  });

  it('does not retry with the same token when the SDK answered from its cache', async () => {
    const { pool, calls } = scriptedPool([{ code: '28P01' }]);
    guardPool(pool, { token: handle([false]) });
    await assert.rejects(pool.connect(), {
      code: 'TOKEN_REJECTED',
      message: /returned the same token again from its cache, so the login was not retried: login failed/,
    });
    assert.equal(calls(), 1);
  });

  it('retries only once, and never for other errors', async () => {
    const twice = scriptedPool([{ code: '28P01' }, { code: '28P01' }]);
    guardPool(twice.pool, { token: handle([true]) });
    await assert.rejects(twice.pool.connect(), {
      code: 'TOKEN_REJECTED',
      message: /refused a fresh token too: login failed/,
    });
    assert.equal(twice.calls(), 2);
    const other = scriptedPool([{ code: '53300' }]);
    const untouched = handle([]);
    guardPool(other.pool, { token: untouched });
    await assert.rejects(other.pool.connect(), { code: '53300' });
    assert.equal(other.calls(), 1);
    assert.equal(untouched.invalidations(), 0);
  });

  it('keeps the callback form that pg-pool’s own query() uses', async () => {
    const { pool, client } = scriptedPool([{ code: '28000' }]);
    guardPool(pool, { token: handle([true]) });
    const got = await new Promise((resolve, reject) =>
      pool.connect((error, c) => (error ? reject(error) : resolve(c))),
    );
    assert.equal(got, client);
  });
});

describe('connection lifetimes', () => {
  it('spreads each lifetime ±10% around maxLifetimeSeconds', () => {
    assert.equal(
      connectionLifetimeMs(1800, 0.1, () => 0),
      1_620_000,
    );
    assert.equal(
      connectionLifetimeMs(1800, 0.1, () => 0.5),
      1_800_000,
    );
    assert.equal(
      connectionLifetimeMs(1800, 0.1, () => 0.75),
      1_890_000,
    );
    const lifetimes = Array.from({ length: 50 }, () => connectionLifetimeMs(1800, 0.1, Math.random));
    assert.ok(lifetimes.every((ms) => ms >= 1_620_000 && ms <= 1_980_000));
    assert.ok(new Set(lifetimes).size > 40, 'a burst of connections gets distinct lifetimes');
  });
});

describe('pg adapter against the emulator', () => {
  let emulator: Emulator;
  const url = () =>
    `postgresql://orders-api@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;

  const credential = emulatorCredential(() => emulator);
  const settings = (): Settings => emulatorSettings(() => emulator, credential);

  before(async () => {
    emulator = await startEmulator({ backend: 'pglite', tokenLifetimeSeconds: 3600 });
  });
  after(() => emulator?.stop());

  it('gives a config that survives a spread, with the token function out of JSON and the handle aside', async () => {
    const config = await pgConfig(url(), settings());
    assert.equal(config.user, 'orders-api');
    assert.equal(config.maxLifetimeSeconds, 1800);
    assert.equal(typeof { ...config }.password, 'function');
    assert.ok(!JSON.stringify(config).includes('password'));
    assert.ok(!('token' in { ...config }), 'the handle is not passed to the driver');
    assert.equal(typeof config.token?.stats, 'function');
    const pool = new pg.Pool({ ...config });
    const { rows } = await pool.query('select current_user as role');
    assert.equal(rows[0].role, 'orders-api');
    await pool.end();
  });

  it('forwards every key a plugin returns, the plugin winning over the URL', () => {
    const target = {
      host: 'h',
      port: 5432,
      database: 'd',
      user: 'u',
      params: { application_name: 'from-url' },
    };
    const config = toPgConfig(target, {
      application_name: 'from-plugin',
      statement_timeout: 5000,
      user: 'role',
    });
    assert.deepEqual(
      { ...config },
      {
        host: 'h',
        port: 5432,
        database: 'd',
        user: 'role',
        application_name: 'from-plugin',
        statement_timeout: 5000,
        maxLifetimeSeconds: 1800,
      },
    );
  });

  it('recovers when the server refuses the cached token: invalidate, fetch, retry once', async () => {
    const pool = await createPool(url(), {
      pg,
      settings: settings(),
      pool: { max: 2, idleTimeoutMillis: 1 },
    });
    try {
      await pool.query('select 1');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the idle connection goes
      assert.ok(emulator.revokeAcceptedTokens() >= 1);
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
      assert.equal(pool.token?.stats().invalidations, 1);
    } finally {
      await pool.end();
    }
  });

  it('gives each pooled connection its own lifetime, so a burst does not log in again all at once', async () => {
    let nowMs = 1_000_000;
    const randoms = Array.from({ length: 20 }, (_, index) => index / 20);
    const config = await pgConfig(url(), settings());
    const pool = guardPool(new pg.Pool({ ...config, max: 20, maxLifetimeSeconds: 0 }), {
      token: config.token,
      maxLifetimeSeconds: 100,
      now: () => nowMs,
      random: () => randoms.shift() ?? 0.5,
    });
    let logins = 0;
    pool.on('connect', () => logins++);
    const checkOutAll = async () => {
      const clients = await Promise.all(Array.from({ length: 20 }, () => pool.connect()));
      for (const client of clients) client.release();
    };
    try {
      await checkOutAll();
      assert.equal(logins, 20);
      // Lifetimes are 90 + k seconds (k = 0..19); at 100 s, those with k <= 10 have ended.
      nowMs += 100_000;
      await checkOutAll();
      assert.equal(logins, 20 + 11, 'only the connections past their own lifetime logged in again');
    } finally {
      await pool.end();
    }
  });

  it('refuses to send a token without TLS unless told to', async () => {
    await assert.rejects(pgConfig(`${url()}?sslmode=disable`, settings()), { code: 'TLS_REQUIRED' });
  });
});
