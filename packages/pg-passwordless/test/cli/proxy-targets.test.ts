// `pg-passwordless proxy URL1 URL2 --listen A,B`: several targets in one process, against the emulator
// (Azure, with two databases; AWS, with two names of one server), psql through each listener, and the
// identity requests counted: one per identity and token audience.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';
import { get, killStrayProxies, psql, startProxyCli, stopProxy } from './proxy-cli.ts';
import { runCli } from './run-cli.ts';

describe('pg-passwordless proxy with several targets (Azure)', () => {
  let emulator: Emulator;
  let orders: string;
  let billing: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    await emulator.adminSql('create database billing');
    const url = new URL(emulator.env.DATABASE_URL as string);
    orders = url.toString();
    url.pathname = '/billing';
    billing = url.toString();
  });
  after(async () => {
    await killStrayProxies();
    await emulator?.stop();
  });

  it('a listener per target, in the order of --listen; one identity request for both (one identity, one audience)', async () => {
    const before = emulator.counters();
    const { proxy, urls, http } = await startProxyCli(
      [orders, billing, '--listen', '127.0.0.1:0,127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      emulator.env,
      2,
    );
    assert.ok(http);
    const [first, second] = urls as [string, string];
    assert.match(first, /\/postgres\?sslmode=disable$/);
    assert.match(second, /\/billing\?sslmode=disable$/);
    assert.notEqual(new URL(first).port, new URL(second).port);
    assert.match(proxy.stdout(), /listening on 127\.0\.0\.1:\d+ for orders-api@127\.0\.0\.1:\d+\/postgres\n/);
    assert.match(proxy.stdout(), /listening on 127\.0\.0\.1:\d+ for orders-api@127\.0\.0\.1:\d+\/billing\n/);

    for (const [url, database] of [
      [first, 'postgres'],
      [second, 'billing'],
      [second, 'billing'],
    ] as const) {
      const result = await psql(url, 'select current_user, current_database()');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), `orders-api|${database}`);
    }
    const after = emulator.counters();
    assert.equal(after.tokensIssued - before.tokensIssued, 1, 'one token for both targets');
    assert.equal(after.identityRequests - before.identityRequests, 1, 'one identity request');
    assert.equal(after.gateway.loginsAccepted - before.gateway.loginsAccepted, 3);

    // Both listeners in /metrics, each with its own counts; both targets in readiness.
    const families = await parsePrometheus((await get(http, '/metrics')).body);
    const logins = (url: string) =>
      sampleValue(families, 'pg_passwordless_proxy_logins_total', {
        listen: new URL(url).host,
        result: 'ok',
      });
    assert.deepEqual([logins(first), logins(second)], [1, 2]);
    assert.deepEqual(await get(http, '/readiness'), { status: 200, body: 'ok\n' });

    const stopped = await stopProxy(proxy);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: no new sessions \(cancel requests still pass\); 0 open/);
  });

  it('refuses at start what cannot serve: a count of addresses that does not match, a split key/value string', async () => {
    const mismatch = await runCli(['proxy', orders, billing, '--listen', '127.0.0.1:0'], emulator.env);
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /^pg-passwordless: CONFIG_INVALID: --listen names 1 address for 2 targets\./,
    );
    const split = await runCli(
      ['proxy', 'host=127.0.0.1', 'password=not-shown-anywhere', '--listen', '0,0'],
      emulator.env,
    );
    assert.equal(split.code, 1);
    assert.match(split.stderr, /argument 1 of 2 is not one \(not shown: it may hold a password\)/);
    assert.doesNotMatch(split.stderr, /not-shown-anywhere/);
  });
});

describe('pg-passwordless proxy with several targets (AWS)', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws' });
  });
  after(async () => {
    await killStrayProxies();
    await emulator?.stop();
  });

  it('two names of one server are two token audiences: a token cache each, both serving', async () => {
    // An RDS token is signed for host:port, so 127.0.0.1 and localhost get a token (and a cache) each.
    const byAddress = new URL(emulator.env.DATABASE_URL as string);
    const byName = new URL(byAddress);
    byName.hostname = 'localhost';
    const before = emulator.counters();
    const { proxy, urls } = await startProxyCli(
      [byAddress.toString(), byName.toString(), '--listen', '127.0.0.1:0,127.0.0.1:0'],
      emulator.env,
      2,
    );
    for (const url of urls) {
      const result = await psql(url, 'select current_user');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), emulator.env.PGUSER);
    }
    assert.equal(emulator.counters().tokensIssued - before.tokensIssued, 2, 'credentials for each cache');
    assert.equal((await stopProxy(proxy)).code, 0);
  });
});
