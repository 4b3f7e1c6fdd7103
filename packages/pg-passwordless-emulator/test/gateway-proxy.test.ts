import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { gatewayClientConfig } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { findPostgresBinaries } from '../src/backend-postgres.ts';
import { type Emulator, startEmulator } from '../src/index.ts';

const hasPostgres = findPostgresBinaries() !== undefined;

/** Runs psql against the gateway with a token in PGPASSWORD (never on the command line). */
function psql(
  emulator: Emulator,
  token: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('psql', ['-X', '-At', ...args], {
      env: { ...process.env, ...emulator.env, PGPASSWORD: token },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('gateway: sessions pass through to the backend', {
  skip: !hasPostgres && 'needs a system PostgreSQL',
}, () => {
  let emulator: Emulator;
  const connect = async () => {
    const client = new pg.Client(
      gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
    );
    await client.connect();
    return client;
  };

  before(async () => {
    emulator = await startEmulator({ backend: 'postgres' });
  });
  after(() => emulator?.stop());

  it('runs simple and extended queries and prepared statements', async () => {
    const client = await connect();
    try {
      await client.query('create temporary table items (id int primary key, name text)');
      await client.query({
        name: 'insert-item',
        text: 'insert into items values ($1, $2)',
        values: [1, 'one'],
      });
      await client.query({
        name: 'insert-item',
        text: 'insert into items values ($1, $2)',
        values: [2, 'two'],
      });
      const { rows } = await client.query('select name from items where id = $1', [2]);
      assert.deepEqual(rows, [{ name: 'two' }]);
    } finally {
      await client.end();
    }
  });

  it('delivers LISTEN/NOTIFY between sessions', async () => {
    const listener = await connect();
    const notifier = await connect();
    try {
      const received = new Promise<string | undefined>((resolve) =>
        listener.on('notification', (message) => resolve(message.payload)),
      );
      await listener.query('listen orders');
      await notifier.query(`notify orders, 'created 42'`);
      assert.equal(await received, 'created 42');
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('forwards cancel requests to the backend', async () => {
    const client = await connect();
    const watcher = await connect();
    try {
      const running = client.query('select pg_sleep(30)');
      // Wait until the backend really runs the statement, then cancel it (pg sends CancelRequest on a new connection).
      for (;;) {
        const { rows } = await watcher.query(
          `select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'`,
        );
        if (rows[0].n === 1) break;
      }
      const canceller = new pg.Client({ host: emulator.gateway.host, port: emulator.gateway.port });
      // pg's Client#cancel(client, query) is public but missing from @types/pg.
      (canceller as unknown as { cancel(target: pg.Client, query: unknown): void }).cancel(
        client,
        (client as unknown as { activeQuery: unknown }).activeQuery,
      );
      await assert.rejects(running, /canceling statement due to user request/);
      assert.equal(emulator.counters().gateway.cancelRequests, 1);
    } finally {
      await client.end();
      await watcher.end();
    }
  });

  it('serves the real psql, COPY included', async () => {
    const token = await emulator.issueToken('orders-api');
    const who = await psql(emulator, token, ['-c', 'select current_user']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout.trim(), 'orders-api');
    const copy = await psql(emulator, token, ['-c', '\\copy (select generate_series(1, 5000)) to stdout']);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.stdout.trim().split('\n').length, 5000);
  });
});
