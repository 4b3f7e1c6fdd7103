// `pg-passwordless pool --http-address ... --log-format json`: the bin as an operator runs it, with a
// real PgBouncer, against the emulator (Azure), with real pg clients and a real parser of Prometheus's
// text format. The pool's proxy instruments count PgBouncer's server connections, not client sessions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { eventually, get } from '../cli/proxy-cli.ts';
import { runCli } from '../cli/run-cli.ts';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';
import { type PoolCli, startPoolCli, stopPool, TOKEN_LIKE } from './run-pool.ts';

/** Each line of a JSON log as an object. */
const events = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('pg-passwordless pool: health and metrics endpoints, JSON logs (Azure)', () => {
  let emulator: Emulator;
  const started = new Set<PoolCli>();
  const startPool = async (args: string[]) => {
    const pool = await startPoolCli(args, emulator.env);
    started.add(pool);
    void pool.cli.done.then(() => started.delete(pool));
    return pool;
  };
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(async () => {
    for (const pool of started) pool.cli.child.kill('SIGKILL');
    await Promise.all([...started].map((pool) => pool.cli.done));
    await emulator?.stop();
  });

  it('probes answer 200 once serving; /metrics counts the server logins PgBouncer made, as the gateway does', async () => {
    const pool = await startPool(['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0']);
    const http = pool.http as string;
    assert.ok(http, pool.cli.stdout());
    for (const probe of ['/startup', '/liveness', '/readiness']) {
      assert.deepEqual(await get(http, probe), { status: 200, body: 'ok\n' }, probe);
    }
    const loginsBefore = emulator.counters().gateway.loginsAccepted;
    // Three sessions at once: in session mode, three server connections, each one login with a token.
    const clients = Array.from({ length: 3 }, () => new pg.Client({ connectionString: pool.url }));
    await Promise.all(clients.map((client) => client.connect()));
    await Promise.all(clients.map((client) => client.query('begin')));
    await Promise.all(clients.map((client) => client.query('commit')));
    const logins = emulator.counters().gateway.loginsAccepted - loginsBefore;
    assert.ok(logins >= 3, `${logins} server logins`);

    const response = await get(http, '/metrics');
    assert.equal(response.status, 200);
    const metrics = await parsePrometheus(response.body);
    const listen = `${pool.folder}/.s.PGSQL.5432`;
    assert.equal(
      sampleValue(metrics, 'pg_passwordless_proxy_logins_total', { result: 'ok', cloud: 'azure', listen }),
      logins,
    );
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_sessions', { listen }), logins);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_connections_total', { listen }), logins);
    assert.ok((sampleValue(metrics, 'pg_passwordless_token_fetches_total', { result: 'ok' }) ?? 0) >= 1);
    await Promise.all(clients.map((client) => client.end()));
    assert.equal((await stopPool(pool)).code, 0);
  });

  it('readiness is 503 during the shutdown grace while liveness stays 200', async () => {
    const pool = await startPool([
      '--listen',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--shutdown-grace',
      '120',
    ]);
    const http = pool.http as string;
    assert.ok(http);
    // Session mode: an open session holds PgBouncer's safe shutdown until it ends.
    const client = new pg.Client({ connectionString: pool.url });
    await client.connect();
    await client.query('begin');
    pool.cli.child.kill('SIGTERM');
    await eventually(async () => (await get(http, '/readiness')).status === 503, 'readiness fails');
    assert.deepEqual(await get(http, '/readiness'), {
      status: 503,
      body: 'shutting down: no new sessions\n',
    });
    assert.deepEqual(await get(http, '/liveness'), { status: 200, body: 'ok\n' });
    assert.equal((await client.query("select 'still here' as text")).rows[0].text, 'still here');
    await client.query('commit');
    await client.end();
    const stopped = await stopPool(pool, null);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: PgBouncer's safe shutdown, open transactions get 120 s to finish/);
  });

  it('--log-format json: one JSON object a line, each with its event, never a token', async () => {
    const ghost = `postgresql://ghost@127.0.0.1:${emulator.gateway.port}/postgres`;
    const pool = await startPool([
      ghost,
      '--listen',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--pool-mode',
      'transaction',
      '--log-format',
      'json',
    ]);
    assert.match(pool.url, /^postgresql:\/\/ghost@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
    const refused = new pg.Client({ connectionString: pool.url });
    await assert.rejects(refused.connect(), /password authentication failed for user "ghost"/);
    const stopped = await stopPool(pool);
    assert.equal(stopped.code, 0, stopped.stderr);

    const out = events(stopped.stdout);
    const err = events(stopped.stderr);
    for (const event of [...out, ...err]) {
      assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['info', 'warn', 'error'].includes(String(event.level)), JSON.stringify(event));
      assert.equal(typeof event.message, 'string');
    }
    assert.deepEqual(
      out.map((event) => event.event),
      ['http_listening', 'pool_started'],
    );
    assert.deepEqual([out[1]?.poolMode, out[1]?.connect], ['transaction', pool.url]);
    const names = err.map((event) => event.event);
    // PgBouncer's own lines come as they come; the pool's events in their order.
    assert.deepEqual(
      names.filter((name) => name !== 'pgbouncer'),
      ['pgbouncer_started', 'transaction_mode', 'login_refused', 'shutdown_started'],
    );
    assert.ok(names.includes('pgbouncer'));
    const pgbouncerStarted = err.find((event) => event.event === 'pgbouncer_started');
    assert.equal(pgbouncerStarted?.pid, pool.pgbouncerPid);
    const login = err.find((event) => event.event === 'login_refused');
    assert.equal(login?.sqlstate, '28P01');
    assert.match(String(login?.message), /^server login: refused a login from a local socket: 28P01 /);
    const warning = err.find((event) => event.event === 'pgbouncer' && event.level === 'warn');
    assert.match(
      String(warning?.message),
      /^pgbouncer: WARNING server login failed: FATAL password authentication failed/,
    );
  });

  it('--log-format json: a failure at start is a JSON line with its code and hint', async () => {
    emulator.setFaults({ status: 400 });
    try {
      const result = await runCli(['pool', '--listen', '127.0.0.1:0', '--log-format', 'json'], emulator.env);
      assert.equal(result.code, 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      const event = JSON.parse(lines[0] as string) as Record<string, unknown>;
      assert.deepEqual([event.level, event.event], ['error', 'failed']);
      assert.match(String(event.code), /^[A-Z_]+$/);
      assert.equal(typeof event.hint, 'string');
      assert.doesNotMatch(result.stdout + result.stderr, TOKEN_LIKE);
    } finally {
      emulator.clearFaults();
    }
  });

  it('--help lists --http-address and --log-format as proxy does', async () => {
    const help = await runCli(['pool', '--help'], {});
    assert.equal(help.code, 0);
    const proxyHelp = await runCli(['proxy', '--help'], {});
    for (const flag of ['--http-address ADDR', '--log-format text|json']) {
      const lineOf = (text: string) => text.split('\n').find((line) => line.includes(flag));
      assert.ok(lineOf(help.stdout), flag);
      assert.equal(lineOf(help.stdout), lineOf(proxyHelp.stdout), flag);
    }
  });
});
