// The proxy's sessions and logins as its metrics count them, against the emulator (Azure): the
// sessions gauge follows the open pg sessions, logins by result match what the gateway saw, and every
// series carries the cloud and plugin of the proxy's token cache.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { resolveCliConnection } from '../../src/cli/connection.ts';
import { upstreamFor } from '../../src/cli/proxy-service.ts';
import type { TokenHandle } from '../../src/core/contract.ts';
import type { MetricAttributes } from '../../src/core/telemetry/registry.ts';
import { createTelemetry, type Telemetry } from '../../src/core/telemetry/telemetry.ts';
import { type ProxyOptions, type RunningProxy, startProxy } from '../../src/proxy/proxy.ts';
import type { Upstream } from '../../src/proxy/upstream.ts';

/** Waits until `check` holds, polling (no timed assertion: the test's own timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('proxy telemetry (in process, Azure)', () => {
  let emulator: Emulator;
  let upstream: Upstream;
  let token: TokenHandle | undefined;
  const proxies: RunningProxy[] = [];

  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    // @azure/identity reads its endpoint from process.env; this file runs in a process of its own.
    Object.assign(process.env, emulator.env);
    const connection = await resolveCliConnection({ env: emulator.env });
    upstream = upstreamFor(connection);
    token = connection.token;
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await emulator?.stop();
  });

  async function proxyWith(telemetry: Telemetry, options: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
    const proxy = await startProxy({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      upstream,
      labels: token?.labels,
      telemetry,
      ...options,
    });
    proxies.push(proxy);
    return proxy;
  }

  const clientOf = (proxy: RunningProxy, extra: pg.ClientConfig = {}) => {
    const address = proxy.address as { host: string; port: number };
    const client = new pg.Client({
      ...address,
      user: 'orders-api',
      database: 'postgres',
      ssl: false,
      ...extra,
    });
    client.on('error', () => {});
    return client;
  };

  const series = (telemetry: Telemetry, name: string) => {
    const family = telemetry.snapshot().families.find((candidate) => candidate.name === name);
    return (family?.samples ?? []) as Array<{ attributes: MetricAttributes; value?: number; count?: number }>;
  };
  const value = (telemetry: Telemetry, name: string, attributes: MetricAttributes) =>
    series(telemetry, name).find((sample) => JSON.stringify(sample.attributes) === JSON.stringify(attributes))
      ?.value ?? 0;
  /** The attributes of one listener's series: its token cache's cloud and plugin, and its address. */
  const labelsOf = (proxy: RunningProxy) => {
    const { host, port } = proxy.address as { host: string; port: number };
    return { cloud: 'azure', plugin: 'azure', listen: `${host}:${port}` };
  };

  it('counts open sessions as they open and close, and ok logins as the gateway accepted them', async () => {
    const telemetry = createTelemetry();
    const proxy = await proxyWith(telemetry);
    const AZURE = labelsOf(proxy);
    const acceptedBefore = emulator.counters().gateway.loginsAccepted;
    const clients = Array.from({ length: 3 }, () => clientOf(proxy));
    await Promise.all(clients.map((client) => client.connect()));
    await Promise.all(clients.map((client) => client.query('select 1')));
    assert.equal(value(telemetry, 'pg_passwordless.proxy.sessions', AZURE), 3);
    const accepted = emulator.counters().gateway.loginsAccepted - acceptedBefore;
    assert.equal(accepted, 3);
    assert.equal(value(telemetry, 'pg_passwordless.proxy.logins', { ...AZURE, result: 'ok' }), accepted);

    await clients[0]?.end();
    await until(() => value(telemetry, 'pg_passwordless.proxy.sessions', AZURE) === 2);
    assert.equal(proxy.stats().active, 2, 'the gauge agrees with the proxy’s own count');
    await Promise.all(clients.slice(1).map((client) => client.end()));
    await until(() => value(telemetry, 'pg_passwordless.proxy.sessions', AZURE) === 0);
    const [durations] = series(telemetry, 'pg_passwordless.proxy.login.duration');
    assert.deepEqual(durations?.attributes, AZURE);
    assert.equal(durations?.count, 3, 'one duration per login');
  });

  it('counts the proxy’s refusals and the server’s as refused, an unreachable server as failed, a cancel request or a silent connection not at all', async () => {
    const telemetry = createTelemetry();
    const proxy = await proxyWith(telemetry);
    const wrongRole = clientOf(proxy, { user: 'someone-else' });
    await assert.rejects(wrongRole.connect(), /logs in as role "orders-api" only/);
    const noDatabase = clientOf(proxy, { database: 'no_such_database' });
    await assert.rejects(noDatabase.connect(), /does not exist/);

    const closed = await proxyWith(telemetry, { upstream: { ...upstream, port: await closedPort() } });
    await assert.rejects(clientOf(closed).connect(), /cannot reach the server/);
    const AZURE = labelsOf(proxy);

    // A CancelRequest (for no session of this proxy), and a connection that says nothing: not logins.
    const address = proxy.address as { host: string; port: number };
    const cancelRequest = Buffer.alloc(16);
    cancelRequest.writeInt32BE(16, 0);
    cancelRequest.writeInt32BE(80877102, 4); // 1234 << 16 | 5678, as PostgreSQL's protocol says
    await sendAndWaitForClose(address, cancelRequest);
    await sendAndWaitForClose(address, Buffer.alloc(0));
    await until(() => proxy.stats().cancelsDropped === 1 && proxy.stats().active === 0);
    const session = clientOf(proxy);
    await session.connect();
    await session.end();

    assert.equal(value(telemetry, 'pg_passwordless.proxy.logins', { ...AZURE, result: 'refused' }), 2);
    assert.equal(value(telemetry, 'pg_passwordless.proxy.logins', { ...AZURE, result: 'failed' }), 0);
    const failed = { ...labelsOf(closed), result: 'failed' };
    assert.equal(value(telemetry, 'pg_passwordless.proxy.logins', failed), 1, 'on the other listener');
    assert.equal(value(telemetry, 'pg_passwordless.proxy.logins', { ...AZURE, result: 'ok' }), 1);
    const durations = series(telemetry, 'pg_passwordless.proxy.login.duration');
    assert.deepEqual(
      durations.map((sample) => sample.count),
      [3, 1],
      'one duration per login, per listener',
    );
  });
});

/** Connects, writes `bytes` (nothing when empty, then ends), and waits until the proxy closes. */
async function sendAndWaitForClose(address: { host: string; port: number }, bytes: Buffer): Promise<void> {
  const { connect } = await import('node:net');
  const socket = connect(address.port, address.host);
  socket.on('error', () => {});
  socket.resume();
  await new Promise((resolve) => socket.once('connect', resolve));
  if (bytes.length > 0) socket.write(bytes);
  else socket.end();
  await new Promise((resolve) => socket.once('close', resolve));
}

/** A port nobody listens on: one the kernel handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
