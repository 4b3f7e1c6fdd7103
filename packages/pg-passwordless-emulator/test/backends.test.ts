import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { gatewayClientConfig } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { findPostgresBinaries } from '../src/backend-postgres.ts';
import { startEmulator } from '../src/index.ts';

for (const backend of ['pglite', 'postgres'] as const) {
  const skip = backend === 'postgres' && !findPostgresBinaries() ? 'needs a system PostgreSQL' : false;
  describe(`emulator backend: ${backend}`, { skip }, () => {
    it('logs the identity in as its role, runs a transaction, and cleans up on stop', async () => {
      const emulator = await startEmulator({ backend });
      try {
        assert.equal(emulator.backend.kind, backend);
        const client = new pg.Client(
          gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
        );
        await client.connect();
        const { rows } = await client.query('select current_user as role');
        assert.equal(rows[0].role, 'orders-api');
        await client.query('begin');
        await client.query('create table notes (body text)');
        await client.query(`insert into notes values ('kept')`);
        await client.query('commit');
        const count = await client.query('select count(*)::int as n from notes');
        assert.equal(count.rows[0].n, 1);
        await client.end();
      } finally {
        await emulator.stop();
      }
      await assert.rejects(
        new pg.Client({
          host: emulator.gateway.host,
          port: emulator.gateway.port,
          connectionTimeoutMillis: 2_000,
        }).connect(),
        'the gateway is gone after stop()',
      );
    });
  });
}

describe('emulator backend: a PostgreSQL given by URL', {
  skip: !findPostgresBinaries() && 'needs a system PostgreSQL',
}, () => {
  it('creates the roles there and sends sessions to it', async () => {
    const { startPostgresBackend } = await import('../src/backend-postgres.ts');
    const server = await startPostgresBackend();
    try {
      const emulator = await startEmulator({
        // The private cluster listens on a Unix socket only: libpq's `host` parameter names its folder.
        backend: {
          url: `postgresql://postgres@localhost:${server.port}/postgres?host=${encodeURIComponent(server.host)}`,
        },
      });
      try {
        assert.match(emulator.backend.describe(), /given by URL/);
        const client = new pg.Client(
          gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
        );
        await client.connect();
        const { rows } = await client.query(
          "select current_user as role, current_setting('port')::int as port",
        );
        assert.equal(rows[0].role, 'orders-api');
        assert.equal(rows[0].port, server.port);
        await client.end();
      } finally {
        await emulator.stop();
      }
      const roles = await server.adminSql(`select rolname from pg_roles where rolname = 'orders-api'`);
      assert.deepEqual(roles, [['orders-api']], 'the role lives in the given server');
    } finally {
      await server.stop();
    }
  });
});
