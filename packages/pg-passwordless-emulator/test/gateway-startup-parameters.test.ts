import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import postgres from 'postgres';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { findPostgresBinaries } from '../src/backend-postgres.ts';
import { type Emulator, startEmulator } from '../src/index.ts';
import { findPgbouncer } from '../src/pgbouncer.ts';

const ROLE = 'orders-api';

type ServerError = Error & { code?: string; severity?: string };
/** pg's client config; pg also sends `replication` at startup, which its types leave out. */
type LoginConfig = pg.ClientConfig & { replication?: string };

/** psql through the gateway with a token in PGPASSWORD and `pgOptions` in PGOPTIONS (libpq's `options`). */
function psql(
  emulator: Emulator,
  token: string,
  pgOptions: string,
  sql: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('psql', ['-X', '-At', '-c', sql], {
      env: { ...process.env, ...emulator.env, PGPASSWORD: token, PGOPTIONS: pgOptions },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('gateway: the startup parameters a client sends reach PostgreSQL, which takes or refuses them', {
  skip: !findPostgresBinaries() && 'needs a system PostgreSQL',
}, () => {
  let emulator: Emulator;
  const clients: pg.Client[] = [];

  before(async () => {
    emulator = await startEmulator({ backend: 'postgres' });
    // A table for one session to hold a lock on while another waits for it.
    await emulator.adminSql(`create table ledger (id int); grant all on ledger to "${ROLE}"`);
  });
  after(async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    await emulator?.stop();
  });

  /** A pg client logged in through the gateway with a fresh token and the extra config `extra`. */
  async function connect(extra: pg.ClientConfig): Promise<pg.Client> {
    const config = { ...gatewayClientConfig(emulator, ROLE, await emulator.issueToken(ROLE)), ...extra };
    const { client, error } = await tryLogin(config);
    if (error) throw error;
    clients.push(client as pg.Client);
    return client as pg.Client;
  }

  /** The login error for the extra config `extra`. */
  async function refusal(extra: pg.ClientConfig): Promise<ServerError> {
    const config = { ...gatewayClientConfig(emulator, ROLE, await emulator.issueToken(ROLE)), ...extra };
    const { client, error } = await tryLogin(config);
    await client?.end();
    assert.ok(error, `a login with ${JSON.stringify(extra)} succeeded`);
    return error as ServerError;
  }

  /** postgres.js through the gateway: it sends every key of `connection` as a startup parameter of its own. */
  function postgresJs(connection: Record<string, string>, token: Promise<string>) {
    return postgres({
      host: emulator.gateway.host,
      port: emulator.gateway.port,
      database: emulator.backend.database,
      username: ROLE,
      password: () => token,
      ssl: { ca: readFileSync(emulator.caPath), rejectUnauthorized: true },
      connection,
      max: 1,
      onnotice: () => {},
    });
  }

  const show = async (client: pg.Client, name: string) =>
    (await client.query<Record<string, string>>(`show ${name}`)).rows[0]?.[name];

  it('sets statement_timeout, lock_timeout and idle_in_transaction_session_timeout as pg sends them', async () => {
    const client = await connect({
      statement_timeout: 4_000,
      lock_timeout: 5_000,
      idle_in_transaction_session_timeout: 6_000,
    });
    assert.equal(await show(client, 'statement_timeout'), '4s');
    assert.equal(await show(client, 'lock_timeout'), '5s');
    assert.equal(await show(client, 'idle_in_transaction_session_timeout'), '6s');
  });

  it('sets them from options (-c name=value), as libpq and psql send PGOPTIONS', async () => {
    const client = await connect({
      options: '-c statement_timeout=7s -c lock_timeout=8s -c idle_in_transaction_session_timeout=9s',
    });
    assert.equal(await show(client, 'statement_timeout'), '7s');
    assert.equal(await show(client, 'lock_timeout'), '8s');
    assert.equal(await show(client, 'idle_in_transaction_session_timeout'), '9s');
    const viaPsql = await psql(
      emulator,
      await emulator.issueToken(ROLE),
      '-c statement_timeout=11s',
      'show statement_timeout',
    );
    assert.equal(viaPsql.code, 0, viaPsql.stderr);
    assert.equal(viaPsql.stdout.trim(), '11s');
  });

  it('sets a setting sent as a startup parameter of its own (postgres.js connection)', async () => {
    const sql = postgresJs(
      { statement_timeout: '12000', application_name: 'ledger-sync' },
      emulator.issueToken(ROLE),
    );
    try {
      const [row] = await sql`select current_setting('statement_timeout') as timeout,
        current_setting('application_name') as app`;
      assert.deepEqual({ ...row }, { timeout: '12s', app: 'ledger-sync' });
    } finally {
      await sql.end();
    }
  });

  it('statement_timeout cancels a statement that runs longer (57014)', { timeout: 60_000 }, async () => {
    const client = await connect({ statement_timeout: 50 });
    // Were the timeout not in effect, this would sleep for an hour and the test would time out.
    await assert.rejects(client.query('select pg_sleep(3600)'), (error: ServerError) => {
      assert.equal(error.code, '57014');
      assert.equal(error.message, 'canceling statement due to statement timeout');
      return true;
    });
  });

  it('lock_timeout gives up waiting for a lock another session holds (55P03)', {
    timeout: 60_000,
  }, async () => {
    const holder = await connect({});
    await holder.query('begin');
    await holder.query('lock table ledger in access exclusive mode');
    const waiter = await connect({ lock_timeout: 50 });
    await assert.rejects(waiter.query('select count(*) from ledger'), (error: ServerError) => {
      assert.equal(error.code, '55P03');
      assert.match(error.message, /^canceling statement due to lock timeout$/);
      return true;
    });
    await holder.query('rollback');
  });

  it('idle_in_transaction_session_timeout ends a session left idle in a transaction (25P03)', {
    timeout: 60_000,
  }, async () => {
    const client = await connect({ idle_in_transaction_session_timeout: 50 });
    const ended = once(client, 'error') as Promise<[ServerError]>;
    await client.query('begin');
    // Were the timeout not in effect, the session would stay open and the test would time out.
    const [error] = await ended;
    assert.equal(error.code, '25P03');
    assert.match(error.message, /^terminating connection due to idle-in-transaction timeout$/);
  });

  const refused: Array<[string, pg.ClientConfig, string, string]> = [
    [
      'an unknown setting',
      { options: '-c not_a_setting=1' },
      '42704',
      'unrecognized configuration parameter "not_a_setting"',
    ],
    [
      'a setting fixed at server start',
      { options: '-c shared_buffers=1MB' },
      '55P02',
      'parameter "shared_buffers" cannot be changed without restarting the server',
    ],
    [
      'a superuser setting',
      { options: '-c lc_messages=C' },
      '42501',
      'permission denied to set parameter "lc_messages"',
    ],
    ['a bad value', { options: '-c statement_timeout=soon' }, '22023', 'invalid value for parameter'],
  ];
  for (const [what, extra, sqlState, message] of refused) {
    it(`refuses ${what} with PostgreSQL's own FATAL error (${sqlState})`, async () => {
      const error = await refusal(extra);
      assert.equal(error.severity, 'FATAL');
      assert.equal(error.code, sqlState);
      assert.ok(error.message.startsWith(message), error.message);
    });
  }

  it('refuses an unknown setting sent as its own parameter, and psql shows the text', async () => {
    const sql = postgresJs({ not_a_setting: '1' }, emulator.issueToken(ROLE));
    await assert.rejects(sql`select 1`, (error: ServerError) => {
      assert.equal(error.code, '42704');
      assert.equal(error.message, 'unrecognized configuration parameter "not_a_setting"');
      return true;
    });
    await sql.end();
    const viaPsql = await psql(emulator, await emulator.issueToken(ROLE), '-c not_a_setting=1', 'select 1');
    assert.notEqual(viaPsql.code, 0);
    assert.match(viaPsql.stderr, /FATAL: {2}unrecognized configuration parameter "not_a_setting"/);
  });

  it('counts a login the backend refused as rejected, and serves the next one', async () => {
    const before = emulator.counters().gateway;
    await refusal({ options: '-c not_a_setting=1' });
    const client = await connect({ application_name: 'after-refusal' });
    assert.equal(await show(client, 'application_name'), 'after-refusal');
    const after = emulator.counters().gateway;
    assert.equal(after.loginsRejected - before.loginsRejected, 1);
    assert.equal(after.loginsAccepted - before.loginsAccepted, 1);
  });
});

describe('gateway: no startup parameter lifts a session above its mapped role', {
  skip: !findPostgresBinaries() && 'needs a system PostgreSQL',
}, () => {
  let emulator: Emulator;

  before(async () => {
    emulator = await startEmulator({ backend: 'postgres' });
    await emulator.adminSql(`create role reporting; grant reporting to "${ROLE}"`);
  });
  after(() => emulator?.stop());

  const login = async (extra: LoginConfig) =>
    tryLogin({ ...gatewayClientConfig(emulator, ROLE, await emulator.issueToken(ROLE)), ...extra });

  /** The same escape sent by postgres.js as a startup parameter of its own; resolves with its error. */
  async function ownParameterRefusal(connection: Record<string, string>): Promise<ServerError> {
    const sql = postgres({
      host: emulator.gateway.host,
      port: emulator.gateway.port,
      database: emulator.backend.database,
      username: ROLE,
      password: () => emulator.issueToken(ROLE),
      ssl: { ca: readFileSync(emulator.caPath), rejectUnauthorized: true },
      connection,
      max: 1,
    });
    try {
      const rows = await sql`select current_user as role`;
      return assert.fail(`${JSON.stringify(connection)} logged in as ${rows[0]?.role}`);
    } catch (error) {
      return error as ServerError;
    } finally {
      await sql.end();
    }
  }

  const escapes: Array<[string, LoginConfig, Record<string, string> | undefined, string, RegExp]> = [
    [
      'role=postgres',
      { options: '-c role=postgres' },
      { role: 'postgres' },
      '42501',
      /^permission denied to set role "postgres"$/,
    ],
    [
      'role=postgres in the long form (--role=)',
      { options: '--role=postgres' },
      undefined,
      '42501',
      /^permission denied to set role "postgres"$/,
    ],
    [
      'session_authorization=postgres',
      { options: '-c session_authorization=postgres' },
      { session_authorization: 'postgres' },
      '42501',
      /^permission denied to set session authorization "postgres"$/,
    ],
    [
      'is_superuser=on',
      { options: '-c is_superuser=on' },
      { is_superuser: 'on' },
      '55P02',
      /^parameter "is_superuser" cannot be changed$/,
    ],
    [
      'a logical replication connection (replication=database)',
      { replication: 'database' },
      { replication: 'database' },
      '42501',
      /^must be superuser or replication role to start walsender$/,
    ],
    [
      'a physical replication connection (replication=true)',
      { replication: 'true' },
      undefined,
      '28000',
      /^no pg_hba\.conf entry for replication connection .*user "orders-api"/,
    ],
  ];
  for (const [what, viaPg, ownParameter, sqlState, message] of escapes) {
    it(`refuses ${what} with PostgreSQL's error (${sqlState})`, async () => {
      const { client, error } = await login(viaPg);
      await client?.end();
      assert.ok(error, `${what} logged in`);
      assert.equal((error as ServerError).severity, 'FATAL');
      assert.equal(error.code, sqlState);
      assert.match(error.message, message);
      if (!ownParameter) return;
      const refused = await ownParameterRefusal(ownParameter);
      assert.equal(refused.code, sqlState);
      assert.match(refused.message, message);
    });
  }

  it('takes role= for a role the mapped role is a member of, as SET ROLE would', async () => {
    const { client, error } = await login({ options: '-c role=reporting' });
    assert.equal(error, undefined);
    const { rows } = await (client as pg.Client).query(
      `select current_user as current, session_user as session, current_setting('is_superuser') as superuser`,
    );
    await client?.end();
    assert.deepEqual({ ...rows[0] }, { current: 'reporting', session: ROLE, superuser: 'off' });
  });
});

describe('gateway: on the PgBouncer port, PgBouncer decides', {
  skip: (!findPgbouncer() || !findPostgresBinaries()) && 'needs pgbouncer and a system PostgreSQL',
}, () => {
  it("relays PgBouncer's refusal of a setting it does not track (08P01)", async () => {
    const emulator = await startEmulator({ backend: 'postgres', pgbouncer: true });
    try {
      const config = {
        ...gatewayClientConfig(emulator, ROLE, await emulator.issueToken(ROLE)),
        port: emulator.pgbouncerGateway?.port as number,
      };
      const { client, error } = await tryLogin({ ...config, statement_timeout: 4_000 });
      await client?.end();
      assert.equal(error?.code, '08P01');
      assert.equal(error?.message, 'unsupported startup parameter: statement_timeout');
      const { client: plain } = await tryLogin({ ...config, application_name: 'pooled' });
      assert.ok(plain, 'a login with a parameter PgBouncer tracks');
      const { rows } = await plain.query(`select current_setting('application_name') as app`);
      await plain.end();
      assert.equal(rows[0].app, 'pooled');
    } finally {
      await emulator.stop();
    }
  });
});
