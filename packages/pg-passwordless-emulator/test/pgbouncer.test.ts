import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { gatewayClientConfig } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { findPostgresBinaries } from '../src/backend-postgres.ts';
import { startEmulator } from '../src/index.ts';
import { findPgbouncer } from '../src/pgbouncer.ts';

const skip = !findPgbouncer() || !findPostgresBinaries() ? 'needs pgbouncer and a system PostgreSQL' : false;

describe('emulator: the PgBouncer port (Azure’s built-in PgBouncer on 6432)', { skip }, () => {
  it('checks the token, then pools 30 client sessions over at most 10 server connections', async () => {
    const emulator = await startEmulator({ backend: 'postgres', pgbouncer: true });
    try {
      const pooled = emulator.pgbouncerGateway;
      assert.ok(pooled);
      const config = {
        ...gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
        port: pooled.port,
      };
      const clients = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const client = new pg.Client(config);
          await client.connect();
          return client;
        }),
      );
      try {
        const answers = await Promise.all(
          clients.map((client) => client.query('select current_user as role')),
        );
        assert.ok(answers.every(({ rows }) => rows[0].role === 'orders-api'));
        const [[serverConnections]] = (await emulator.adminSql(
          `select count(*) from pg_stat_activity where usename = 'orders-api'`,
        )) as [[string]];
        assert.ok(Number(serverConnections) <= 10, `${serverConnections} server connections for 30 clients`);
      } finally {
        await Promise.all(clients.map((client) => client.end()));
      }
      const refused = new pg.Client({ ...config, password: 'hunter2' });
      await assert.rejects(refused.connect(), /password authentication failed for user "orders-api"/);
    } finally {
      await emulator.stop();
    }
  });
});
