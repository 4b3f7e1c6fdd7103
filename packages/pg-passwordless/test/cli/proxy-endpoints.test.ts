// `pg-passwordless proxy --http-address ... --log-format json`: the bin as an operator runs it, against
// the emulator (Azure), with real psql sessions and a real parser of Prometheus's text format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';
import {
  eventually,
  get,
  holdPsqlSession,
  killStrayProxies,
  psql,
  startProxyCli,
  stopProxy,
  TOKEN_LIKE,
} from './proxy-cli.ts';
import { runCli } from './run-cli.ts';

/** The sessions gauge of the one listener, read through the parser: no series yet is no session yet. */
async function sessionsGauge(http: string): Promise<number> {
  const { status, body } = await get(http, '/metrics');
  assert.equal(status, 200);
  return sampleValue(await parsePrometheus(body), 'pg_passwordless_proxy_sessions') ?? 0;
}

describe('pg-passwordless proxy: health and metrics endpoints, JSON logs (Azure)', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(async () => {
    await killStrayProxies();
    await emulator?.stop();
  });

  /** The backend's own count of psql sessions of the role: what the gauge must agree with. */
  const backendSessions = async () =>
    Number(
      (
        await emulator.adminSql(
          "select count(*) from pg_stat_activity where usename = 'orders-api' and application_name = 'psql'",
        )
      )[0]?.[0],
    );

  it('probes answer 200 once serving; the sessions gauge equals the open psql sessions', async () => {
    const { proxy, urls, http } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      emulator.env,
    );
    const url = urls[0] as string;
    assert.ok(http, proxy.stdout());
    for (const probe of ['/startup', '/liveness', '/readiness']) {
      assert.deepEqual(await get(http, probe), { status: 200, body: 'ok\n' }, probe);
    }
    assert.equal((await get(http, '/debug')).status, 404);
    assert.equal(await sessionsGauge(http), 0);

    const first = await holdPsqlSession(url);
    const second = await holdPsqlSession(url);
    assert.equal(await sessionsGauge(http), 2);
    assert.equal(await backendSessions(), 2);
    await first.close();
    await eventually(async () => (await sessionsGauge(http)) === 1, 'the gauge drops to 1');
    assert.equal(await backendSessions(), 1);
    await second.close();
    await eventually(async () => (await sessionsGauge(http)) === 0, 'the gauge drops to 0');

    const families = await parsePrometheus((await get(http, '/metrics')).body);
    const listen = new URL(url).host;
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_logins_total', { listen, result: 'ok' }), 2);
    assert.equal(
      sampleValue(families, 'pg_passwordless_proxy_logins_total', { listen, result: 'refused' }),
      undefined,
      'no refused login: no series',
    );
    assert.equal((await stopProxy(proxy)).code, 0);
  });

  it('readiness is 503 during the shutdown grace while liveness stays 200', async () => {
    const { proxy, urls, http } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--shutdown-grace', '120'],
      emulator.env,
    );
    assert.ok(http);
    const session = await holdPsqlSession(urls[0] as string);
    proxy.child.kill('SIGTERM');
    await eventually(async () => (await get(http, '/readiness')).status === 503, 'readiness fails');
    assert.deepEqual(await get(http, '/readiness'), {
      status: 503,
      body: 'shutting down: no new sessions\n',
    });
    assert.deepEqual(await get(http, '/liveness'), { status: 200, body: 'ok\n' });
    assert.equal(await sessionsGauge(http), 1, 'the open session goes on');
    const refused = await psql(urls[0] as string, 'select 1');
    assert.match(refused.stderr, /shutting down, no new sessions/);
    // The last session ends: the proxy ends well before its grace period does.
    await session.close();
    const ended = await proxy.done;
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stderr, /SIGTERM: no new sessions \(cancel requests still pass\); 1 open/);
    assert.doesNotMatch(ended.stderr, /still open at the deadline/);
  });

  it('--log-format json: one JSON object a line, the same events, never a token', async () => {
    const { proxy, urls, http } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-format', 'json'],
      emulator.env,
    );
    assert.ok(http);
    const url = urls[0] as string;
    assert.equal((await psql(url, 'select 1')).code, 0);
    const other = new URL(url);
    other.username = 'someone-else';
    assert.notEqual((await psql(other.toString(), 'select 1')).code, 0);
    const stopped = await stopProxy(proxy);
    assert.equal(stopped.code, 0, stopped.stderr);

    const lines = (text: string) =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const out = lines(stopped.stdout);
    const err = lines(stopped.stderr);
    for (const event of [...out, ...err]) {
      assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['info', 'warn', 'error'].includes(String(event.level)));
      assert.equal(typeof event.message, 'string');
    }
    assert.deepEqual(
      out.map((event) => event.event),
      ['http_listening', 'listening'],
    );
    assert.equal(out[1]?.connect, url);
    assert.deepEqual(
      err.map((event) => event.event),
      ['login_refused', 'shutdown_started'],
    );
    assert.equal(err[0]?.sqlstate, '28000');
    assert.match(String(err[0]?.peer), /^127\.0\.0\.1:\d+$/);
    assert.match(String(err[0]?.error), /logs in as role "orders-api" only, not "someone-else"/);
    assert.deepEqual([err[1]?.signal, err[1]?.open], ['SIGTERM', 0]);
  });

  it('--log-format json: a failure at start is a JSON line with its code and hint', async () => {
    emulator.setFaults({ status: 400 });
    try {
      const result = await runCli(['proxy', '--listen', '127.0.0.1:0', '--log-format', 'json'], emulator.env);
      assert.equal(result.code, 1);
      const [failure, ...rest] = result.stderr.trim().split('\n');
      assert.deepEqual(rest, [], result.stderr);
      const event = JSON.parse(failure as string) as Record<string, unknown>;
      assert.deepEqual([event.level, event.event], ['error', 'failed']);
      assert.match(String(event.code), /^[A-Z_]+$/);
      assert.equal(typeof event.hint, 'string');
      assert.doesNotMatch(String(event.message), /\nHint:/);
      assert.doesNotMatch(result.stderr, TOKEN_LIKE);
    } finally {
      emulator.clearFaults();
    }
  });

  // Last: the emulator refuses the revoked token from here on.
  it('readiness is 503 when the server refuses a token the identity SDK keeps handing back', async () => {
    const { proxy, urls, http } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      emulator.env,
    );
    assert.ok(http);
    const url = urls[0] as string;
    assert.equal((await psql(url, 'select 1')).code, 0);
    assert.ok(emulator.revokeAcceptedTokens() > 0);
    const refused = await psql(url, 'select 1');
    assert.match(refused.stderr, /password authentication failed/);
    // MSAL answers from its process-wide cache with the refused token: a retry cannot mend it.
    const readiness = await get(http, '/readiness');
    assert.equal(readiness.status, 503);
    assert.match(
      readiness.body,
      /^orders-api@127\.0\.0\.1:\d+\/postgres: the server refused the token, and the identity SDK hands back the same one: 28P01 /,
    );
    assert.deepEqual(await get(http, '/liveness'), { status: 200, body: 'ok\n' });
    assert.equal((await stopProxy(proxy)).code, 0);
  });
});
