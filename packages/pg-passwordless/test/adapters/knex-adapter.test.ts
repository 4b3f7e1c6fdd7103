import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import knex, { type Knex } from 'knex';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { knexConfig, knexLifetime } from '../../src/adapters/knex.ts';
import type { Settings } from '../../src/index.ts';
import { emulatorCredential, emulatorSettings } from '../helpers/emulator-credential.ts';

describe('knex adapter against the emulator', () => {
  let emulator: Emulator;
  const url = () =>
    `postgresql://orders-api@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;

  /** Any TokenCredential works: this one asks the emulator's App Service endpoint directly, every time. */
  let credentialCalls = 0;
  const credential = emulatorCredential(
    () => emulator,
    () => credentialCalls++,
  );
  const settings = (): Settings => emulatorSettings(() => emulator, credential);

  /** Opens `count` connections at once (each in its own transaction), then releases them all. */
  async function openConnections(db: Knex, count: number): Promise<Set<number>> {
    const pids = new Set<number>();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const all = Array.from({ length: count }, () =>
      db.transaction(async (trx) => {
        const { rows } = await trx.raw('select pg_backend_pid() as pid');
        pids.add(rows[0].pid);
        if (pids.size === count) release();
        await released;
      }),
    );
    await Promise.all(all);
    return pids;
  }

  before(async () => {
    emulator = await startEmulator({ backend: 'postgres', tokenLifetimeSeconds: 3600 });
  });
  after(() => emulator?.stop());

  it('builds a pg config with the token function inside the static connection object', async () => {
    const config = await knexConfig(url(), { settings: settings(), knex: { pool: { max: 3 } } });
    assert.equal(config.client, 'pg');
    assert.equal(config.connection.user, 'orders-api');
    assert.equal(typeof config.connection.password, 'function');
    assert.deepEqual(config.pool, { ...knexLifetime(1800, 0.1), max: 3 });
    assert.ok(!JSON.stringify(config).includes('password'), 'JSON drops the function');
    assert.ok(!('token' in { ...config }), 'the handle is not passed to knex');
    const db = knex(config);
    try {
      const { rows } = await db.raw('select current_user as role');
      assert.equal(rows[0].role, 'orders-api');
    } finally {
      await db.destroy();
    }
  });

  it('asks for a token at every new connection: knex does not keep the first password (knex#3578)', async () => {
    const config = await knexConfig(url(), { settings: settings(), knex: { pool: { min: 0, max: 5 } } });
    const password = config.connection.password as () => Promise<string>;
    let calls = 0;
    config.connection.password = () => {
      calls++;
      return password();
    };
    const db = knex(config);
    try {
      const first = await openConnections(db, 4);
      assert.equal(calls, 4, 'pg called the function once per physical connection');
      // The server now refuses every token it has seen: a new connection logs in only with a new one.
      const before = credentialCalls;
      emulator.revokeAcceptedTokens();
      await config.token?.invalidate();
      const second = await openConnections(db, 5);
      assert.equal([...second].filter((pid) => first.has(pid)).length, 4, 'the open ones stay in use');
      assert.equal(calls, 5);
      assert.ok(credentialCalls > before, 'the fifth connection logged in with a newly fetched token');
    } finally {
      await db.destroy();
    }
  });

  it('closes connections by lifetime one at a time, not the whole pool at once', async () => {
    const config = await knexConfig(url(), {
      settings: settings(),
      knex: {
        pool: { min: 0, max: 3, maxConnectionLifetimeMillis: 60_000, maxConnectionLifetimeJitterMillis: 0 },
      },
    });
    const db = knex(config);
    try {
      const first = await openConnections(db, 3);
      // Each connection's limit is its own creation time plus the lifetime: age just one of them.
      const [oldest] = db.client.pool.free as Array<{ resource: { __knexLifetimeLimit: number } }>;
      assert.ok(oldest);
      oldest.resource.__knexLifetimeLimit = 1; // knex reads 0 as "no limit yet"
      const second = await openConnections(db, 3);
      const kept = [...second].filter((pid) => first.has(pid));
      assert.equal(kept.length, 2, 'two pooled connections kept, one replaced');
    } finally {
      await db.destroy();
    }
  });

  it('knex’s expirationChecker (the other design) also replaces one pooled connection per refresh', async () => {
    const { connection } = await knexConfig(url(), { settings: settings() });
    let providerCalls = 0;
    let expired = false;
    const db = knex({
      client: 'pg',
      pool: { min: 0, max: 3 },
      connection: async () => {
        providerCalls++;
        expired = false;
        return { ...connection, expirationChecker: () => expired };
      },
    });
    try {
      const first = await openConnections(db, 3);
      // Not single flight: until the first result arrives, every connection of a cold burst calls it.
      assert.equal(providerCalls, 3);
      await openConnections(db, 3);
      assert.equal(providerCalls, 3, 'not called again while the checker says "not expired"');
      expired = true;
      const second = await openConnections(db, 3);
      assert.equal(providerCalls, 4);
      assert.equal([...second].filter((pid) => first.has(pid)).length, 2);
    } finally {
      await db.destroy();
    }
  });

  it('leaves lifetimes out for knex before 3.2, whose pool (tarn.js) throws on unknown options', async () => {
    const config = await knexConfig(url(), { settings: settings(), knexVersion: '3.1.0' });
    assert.deepEqual(config.pool, {});
    const off = await knexConfig(url(), { settings: settings(), maxLifetimeSeconds: 0 });
    assert.deepEqual(off.pool, {});
  });
});
