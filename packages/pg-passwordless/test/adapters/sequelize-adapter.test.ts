import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { Sequelize } from 'sequelize';
import { passwordlessHook, usePasswordless } from '../../src/adapters/sequelize.ts';
import type { Settings } from '../../src/index.ts';
import { emulatorCredential, emulatorSettings } from '../helpers/emulator-credential.ts';

describe('Sequelize adapter against the emulator', () => {
  let emulator: Emulator;
  const credential = emulatorCredential(() => emulator);
  const settings = (): Settings => emulatorSettings(() => emulator, credential);

  before(async () => {
    emulator = await startEmulator({ backend: 'postgres', tokenLifetimeSeconds: 3600 });
  });
  after(() => emulator?.stop());

  it('logs in with a token, and leaves no token string in sequelize.config', async () => {
    const { host, port } = emulator.gateway;
    const sequelize = new Sequelize(`postgresql://orders-api@${host}:${port}/${emulator.backend.database}`, {
      dialect: 'postgres',
      logging: false,
    });
    const hook = usePasswordless(sequelize, settings());
    try {
      const [rows] = await sequelize.query('select current_user as role');
      assert.deepEqual(rows, [{ role: 'orders-api' }]);
      // The dialect's connection manager works on its own copy of sequelize.config.
      const { config } = sequelize.connectionManager as unknown as { config: { password: unknown } };
      assert.equal(typeof config.password, 'function');
      const token = await hook.tokens()[0]?.getToken();
      assert.ok(token);
      // (pg itself keeps the string on each connected Client, as it does for any password.)
      assert.ok(!inspect(config, { showHidden: true, depth: 6 }).includes(token));
      assert.ok(!inspect(sequelize.config, { showHidden: true, depth: 6 }).includes(token));
    } finally {
      await sequelize.close();
    }
  });

  it('gives the write server and each read replica its own token function (sequelize#15979)', async () => {
    const { host, port } = emulator.gateway;
    const server = { host, port, username: 'orders-api' };
    const sequelize = new Sequelize({
      dialect: 'postgres',
      database: emulator.backend.database,
      logging: false,
      // Two read entries for the same gateway: Sequelize still builds one config object per entry.
      replication: { write: server, read: [{ ...server }, { ...server }] },
      pool: { max: 2 },
      hooks: { beforeConnect: passwordlessHook(settings()) },
    });
    let connects = 0;
    sequelize.addHook('beforeConnect', () => {
      connects++;
    });
    try {
      const reads = await Promise.all(
        [1, 2, 3, 4].map(() => sequelize.query('select current_user as role', { plain: true })),
      );
      assert.ok(reads.every((row) => row?.role === 'orders-api'));
      await sequelize.transaction(async (transaction) => {
        await sequelize.query('select 1', { transaction });
      });
      const configs = (
        sequelize.connectionManager as unknown as { config: { replication: Record<string, unknown> } }
      ).config.replication as unknown as { read: Array<{ password: unknown }>; write: { password: unknown } };
      const functions = [configs.write.password, ...configs.read.map((read) => read.password)];
      assert.ok(functions.every((fn) => typeof fn === 'function'));
      assert.equal(new Set(functions).size, 3, 'one resolution (and token function) per server config');
      assert.ok(connects >= 3, 'the write pool and both read configs connected');
    } finally {
      await sequelize.close();
    }
  });

  it('does nothing when pg-passwordless is off', async () => {
    const hook = passwordlessHook({ env: {} });
    const config = { host: 'db.example.com', username: 'app', password: 'static' };
    await hook(config);
    assert.deepEqual(config, { host: 'db.example.com', username: 'app', password: 'static' });
  });
});
