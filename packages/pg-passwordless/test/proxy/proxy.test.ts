// The proxy in process, against the emulator (Azure): the token cache behind it, cancel routing,
// token renewal, TLS verification, shutdown, and a seeded fuzz of its login. The CLI's own tests
// (test/cli/proxy.test.ts) run it as users do.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { fuzzWireEndpoint } from '../../../pg-passwordless-emulator/test/helpers/wire-fuzz.ts';
import { resolveCliConnection } from '../../src/cli/connection.ts';
import { upstreamFor } from '../../src/cli/proxy-service.ts';
import { type ProxyOptions, type RunningProxy, startProxy } from '../../src/proxy/proxy.ts';
import type { Upstream } from '../../src/proxy/upstream.ts';
import { errorFields, passwordMessage, startupMessage, typedMessage } from '../../src/wire/messages.ts';
import { PacketReader } from '../../src/wire/packet-reader.ts';

const HANDSHAKE_TIMEOUT_MS = 2_000;

describe('pg-passwordless proxy (in process, Azure)', () => {
  let emulator: Emulator;
  let upstream: Upstream;
  const proxies: RunningProxy[] = [];

  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    // @azure/identity reads its endpoint from process.env; this file runs in a process of its own.
    Object.assign(process.env, emulator.env);
    upstream = upstreamFor(await resolveCliConnection({ env: emulator.env }));
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await emulator?.stop();
  });

  async function proxyWith(options: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
    const proxy = await startProxy({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      upstream,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      ...options,
    });
    proxies.push(proxy);
    return proxy;
  }

  const clientOf = (proxy: RunningProxy, extra: pg.ClientConfig = {}) => {
    const address = proxy.address as { host: string; port: number };
    const client = new pg.Client({
      host: address.host,
      port: address.port,
      user: 'orders-api',
      database: 'postgres',
      ssl: false,
      ...extra,
    });
    client.on('error', () => {});
    return client;
  };

  it('100 clients connecting at once, with no token cached yet, cost one identity request', async () => {
    const proxy = await proxyWith();
    const before = emulator.counters().tokensIssued;
    const clients = Array.from({ length: 100 }, () => clientOf(proxy));
    await Promise.all(clients.map((client) => client.connect()));
    const roles = await Promise.all(clients.map((client) => client.query('select current_user as role')));
    await Promise.all(clients.map((client) => client.end()));
    assert.deepEqual(new Set(roles.map((result) => result.rows[0].role)), new Set(['orders-api']));
    assert.equal(emulator.counters().tokensIssued - before, 1, 'one token for all 100 logins');
    assert.equal(proxy.stats().sessions, 100);
  });

  it('passes the client’s startup parameters on, and takes its database', async () => {
    const proxy = await proxyWith();
    const client = clientOf(proxy, { application_name: 'reporting-job' });
    await client.connect();
    const { rows } = await client.query(
      "select current_setting('application_name') as app, current_database() as db",
    );
    await client.end();
    assert.deepEqual(rows[0], { app: 'reporting-job', db: 'postgres' });
  });

  it('a client asking for protocol 3.2 and a protocol option is told 3.0 without it, then served', async () => {
    const proxy = await proxyWith();
    const address = proxy.address as { host: string; port: number };
    const socket = netConnect(address.port, address.host);
    socket.on('error', () => {});
    const reader = new PacketReader(socket);
    try {
      // What libpq 18 sends with max_protocol_version=latest, plus an option PostgreSQL would not know.
      socket.write(
        startupMessage(
          { user: 'orders-api', database: 'postgres', application_name: 'newer-client', '_pq_.example': '1' },
          { minorVersion: 2 },
        ),
      );
      const first = await reader.readTyped(1024);
      assert.equal(first.type, 'v', 'NegotiateProtocolVersion comes first, before authentication');
      assert.equal(
        first.body.readInt32BE(0),
        196608,
        'the newest version spoken, 3.0, as PostgreSQL writes it',
      );
      assert.equal(first.body.readInt32BE(4), 1);
      assert.equal(first.body.subarray(8).toString(), '_pq_.example\0');
      const greeting: string[] = [];
      for (let message = await reader.readTyped(1024); ; message = await reader.readTyped(1024)) {
        greeting.push(message.type);
        if (message.type === 'Z') break;
      }
      assert.equal(greeting[0], 'R', 'then the login goes on in 3.0');
      socket.write(typedMessage('Q', Buffer.from("select current_setting('application_name')\0")));
      const answer: string[] = [];
      for (let message = await reader.readTyped(1024); ; message = await reader.readTyped(1024)) {
        if (message.type === 'D') answer.push(message.body.subarray(6).toString());
        if (message.type === 'Z') break;
      }
      assert.deepEqual(answer, ['newer-client'], 'the settings reached the server, the option did not');
    } finally {
      socket.destroy();
    }
  });

  it('routes a cancel request to the session that holds its key, and drops unknown keys', async () => {
    const proxy = await proxyWith();
    const client = clientOf(proxy);
    await client.connect();
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    const [{ pid }] = (await client.query('select pg_backend_pid() as pid')).rows;
    assert.equal(processID, pid, 'the client holds the upstream session’s own key');

    // An unknown key first: the proxy forwards nothing, the query runs on.
    const sleeping = client.query('select pg_sleep(30)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sendCancel(proxy, processID, secretKey ^ 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(proxy.stats().cancelsDropped, 1);

    const startedAt = Date.now();
    await sendCancel(proxy, processID, secretKey);
    await assert.rejects(sleeping, (error: { code?: string }) => error.code === '57014');
    assert.ok(Date.now() - startedAt < 10_000, 'cancelled, not run to its end');
    assert.equal(proxy.stats().cancelsForwarded, 1);
    assert.equal((await client.query('select 1 as one')).rows[0].one, 1, 'the session goes on');
    await client.end();
  });

  it('a server certificate that does not verify: the client gets 08001 with the TLS error and a hint', async () => {
    // The system roots, which do not hold the emulator's CA.
    const proxy = await proxyWith({ upstream: { ...upstream, tls: { rejectUnauthorized: true } } });
    const client = clientOf(proxy);
    await assert.rejects(client.connect(), (error: { code?: string; message: string; hint?: string }) => {
      assert.equal(error.code, '08001');
      assert.match(error.message, /TLS to 127\.0\.0\.1:\d+ failed/);
      assert.match(error.hint ?? '', /sslrootcert/);
      return true;
    });
  });

  it('a role other than the proxy’s is refused with the role to use', async () => {
    const proxy = await proxyWith();
    await assert.rejects(
      clientOf(proxy, { user: 'someone-else' }).connect(),
      (error: { code?: string; message: string; hint?: string }) => {
        assert.equal(error.code, '28000');
        assert.match(error.message, /logs in as role "orders-api" only, not "someone-else"/);
        assert.match(error.hint ?? '', /orders-api/);
        return true;
      },
    );
  });

  it('with a local password, a wrong role learns nothing before the password is right', async () => {
    const proxy = await proxyWith({ localPassword: 'the-local-secret' });
    const refused = (extra: pg.ClientConfig) =>
      clientOf(proxy, extra)
        .connect()
        .then(
          () => assert.fail('logged in'),
          (error: { code?: string; message: string }) => error,
        );
    const guess = await refused({ user: 'someone-else', password: 'a-guess' });
    assert.equal(guess.code, '28P01');
    assert.doesNotMatch(guess.message, /orders-api/);
    const known = await refused({ user: 'someone-else', password: 'the-local-secret' });
    assert.equal(known.code, '28000', 'past the password, the role to use is told');
  });

  it('refuses a file that is not a socket where its Unix socket goes, and replaces a stale socket', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'proxy-socket-'));
    try {
      const path = join(folder, '.s.PGSQL.5432');
      writeFileSync(path, 'not a socket');
      await assert.rejects(
        startProxy({ listen: { kind: 'unix', folder, port: 5432, path }, upstream }),
        (error: { code?: string; message: string }) =>
          error.code === 'CONFIG_INVALID' && /not a socket/.test(error.message),
      );
      rmSync(path);
      // A socket nobody listens on any more, as a killed proxy leaves it.
      const { createServer } = await import('node:net');
      const stale = createServer();
      await new Promise<void>((resolve) => stale.listen(path, resolve));
      // close() would remove the file; a killed process does not, so keep it and drop the listener only.
      const handle = (stale as unknown as { _handle: { close(): void } })._handle;
      handle.close();
      const proxy = await proxyWith({ listen: { kind: 'unix', folder, port: 5432, path } });
      const client = new pg.Client({
        host: folder,
        port: 5432,
        user: 'orders-api',
        database: 'postgres',
        ssl: false,
      });
      await client.connect();
      assert.equal((await client.query('select current_user as role')).rows[0].role, 'orders-api');
      await client.end();
      await proxy.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('holds a lock file beside its Unix socket: a second proxy is refused, a dead one’s lock is taken over', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'proxy-lock-'));
    const path = join(folder, '.s.PGSQL.5432');
    const lock = `${path}.lock`;
    const listen = { kind: 'unix', folder, port: 5432, path } as const;
    try {
      const first = await proxyWith({ listen });
      assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`);
      assert.equal(statSync(lock).mode & 0o777, 0o600);
      await assert.rejects(
        startProxy({ listen, upstream }),
        (error: { code?: string; message: string }) =>
          error.code === 'CONFIG_INVALID' && error.message.includes(`(PID ${process.pid}) holds ${lock}`),
      );
      assert.ok(existsSync(path), 'the refused proxy left the first one’s socket alone');
      await first.close();
      assert.ok(!existsSync(lock) && !existsSync(path), 'close() removes the lock and the socket');

      // An empty lock written a moment ago: another proxy between creating it and writing its id.
      writeFileSync(lock, '');
      await assert.rejects(startProxy({ listen, upstream }), (error: { code?: string; message: string }) =>
        /another proxy is starting there/.test(error.message),
      );
      // A lock held by another live process: refused with its id.
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
      try {
        writeFileSync(lock, `${holder.pid}\n`);
        await assert.rejects(startProxy({ listen, upstream }), (error: { message: string }) =>
          error.message.includes(`(PID ${holder.pid}) holds ${lock}`),
        );
      } finally {
        holder.kill();
      }
      // A lock whose process is gone, as a killed proxy leaves it: taken over.
      const gone = spawnSync(process.execPath, ['-e', '']).pid as number;
      writeFileSync(lock, `${gone}\n`);
      const second = await proxyWith({ listen });
      assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n`);
      const client = new pg.Client({ host: folder, port: 5432, user: 'orders-api', ssl: false });
      await client.connect();
      await client.end();
      await second.close();
      // A lock naming this very process that it does not hold: a restarted container's proxy is PID 1
      // again and finds its old lock in a kept folder. Taken over, as PostgreSQL does.
      writeFileSync(lock, `${process.pid}\n`);
      const third = await proxyWith({ listen });
      await third.close();
      assert.ok(!existsSync(lock));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('close(grace): stops accepting at once, lets a session finish, then closes the rest', async () => {
    const proxy = await proxyWith();
    const client = clientOf(proxy);
    await client.connect();
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    const sleeping = client.query('select pg_sleep(30)');
    const closing = proxy.close(5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(clientOf(proxy).connect(), (error: { code?: string }) => error.code === '57P03');
    await sendCancel(proxy, processID, secretKey);
    await assert.rejects(
      sleeping,
      (error: { code?: string }) => error.code === '57014',
      'cancels still pass',
    );
    assert.equal((await client.query('select 1 as one')).rows[0].one, 1, 'the open session still works');
    await client.end();
    assert.deepEqual(await closing, { closedAtDeadline: 0 });

    const stubborn = await proxyWith();
    const holder = clientOf(stubborn);
    await holder.connect();
    const ended = new Promise((resolve) => holder.once('end', resolve));
    assert.deepEqual(await stubborn.close(300), { closedAtDeadline: 1 });
    await ended;
  });

  it('connections that send nothing make room for a login: the oldest closes, one for each newcomer', async () => {
    const proxy = await proxyWith({ maxPendingConnections: 3, handshakeTimeoutMs: 60_000 });
    const silent: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) silent.push(await openSilent(proxy));
      await closedOf(silent[0] as Socket);
      assert.deepEqual(
        silent.map((socket) => socket.closed),
        [true, false, false, false],
        'the fourth took the first one’s place',
      );
      const client = clientOf(proxy);
      await client.connect();
      assert.equal((await client.query('select 1 as one')).rows[0].one, 1);
      await closedOf(silent[1] as Socket);
      assert.deepEqual(
        silent.map((socket) => socket.closed),
        [true, true, false, false],
      );
      const stats = proxy.stats();
      assert.deepEqual(
        [stats.evicted, stats.pending, stats.sessionsOpen, stats.protocolErrors, stats.handshakeTimeouts],
        [2, 2, 1, 0, 0],
        'two evicted, counted as nothing else',
      );
      await client.end();
    } finally {
      for (const socket of silent) socket.destroy();
    }
  });

  it('a client past its startup packet keeps its place while silent ones make room', async () => {
    const proxy = await proxyWith({
      maxPendingConnections: 2,
      localPassword: 'local',
      handshakeTimeoutMs: 60_000,
    });
    const address = proxy.address as { host: string; port: number };
    const loggingIn = netConnect(address.port, address.host);
    loggingIn.on('error', () => {});
    const silent: Socket[] = [];
    try {
      const reader = new PacketReader(loggingIn);
      loggingIn.write(startupMessage({ user: 'orders-api', database: 'postgres' }));
      const request = await reader.readTyped(1_024);
      assert.deepEqual([request.type, request.body.readInt32BE(0)], ['R', 3], 'asked for its password');
      // It holds a session place now: three silent connections in two pending places close the first.
      for (let i = 0; i < 3; i++) silent.push(await openSilent(proxy));
      await closedOf(silent[0] as Socket);
      assert.equal(loggingIn.closed, false);
      loggingIn.write(passwordMessage('local'));
      for (let message = await reader.readTyped(1_024); ; message = await reader.readTyped(1_024)) {
        if (message.type === 'Z') break;
      }
      assert.deepEqual([proxy.stats().sessionsOpen, proxy.stats().evicted], [1, 1]);
    } finally {
      loggingIn.destroy();
      for (const socket of silent) socket.destroy();
    }
  });

  it('maxSessions: a login beyond them gets FATAL 53300; cancels pass; a refused login frees its place', async () => {
    const lines: string[] = [];
    const proxy = await proxyWith({ maxSessions: 1, log: (event) => lines.push(event.message) });
    const first = clientOf(proxy);
    await first.connect();
    await assert.rejects(
      clientOf(proxy).connect(),
      (error: { code?: string; severity?: string; message: string }) => {
        assert.deepEqual(
          [error.severity, error.code, error.message],
          ['FATAL', '53300', 'sorry, too many clients already'],
        );
        return true;
      },
    );
    assert.match(
      lines.at(-1) ?? '',
      /^refused a login from 127\.0\.0\.1:\d+: 53300 sorry, too many clients already$/,
    );
    // A cancel request is no session: it passes when every place is taken, as in PostgreSQL.
    const { processID, secretKey } = first as unknown as { processID: number; secretKey: number };
    const sleeping = first.query('select pg_sleep(30)');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sendCancel(proxy, processID, secretKey);
    await assert.rejects(sleeping, (error: { code?: string }) => error.code === '57014');
    assert.deepEqual(
      [proxy.stats().tooManyClients, proxy.stats().loginsRejected, proxy.stats().cancelsForwarded],
      [1, 1, 1],
    );
    await first.end();
    await until(() => proxy.stats().sessionsOpen === 0);

    // A refused login gives its place back at once, before its client has closed.
    const wrongRole = clientOf(proxy, { user: 'someone-else' });
    await assert.rejects(wrongRole.connect(), (error: { code?: string }) => error.code === '28000');
    const second = clientOf(proxy);
    await second.connect();
    assert.equal((await second.query('select 1 as one')).rows[0].one, 1);
    await second.end();
    assert.equal(proxy.stats().tooManyClients, 1);
  });

  it('refuses limits that are not whole numbers of at least 1', async () => {
    for (const limits of [{ maxSessions: 0 }, { maxPendingConnections: 2.5 }, { maxSessions: Number.NaN }]) {
      await assert.rejects(
        startProxy({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, upstream, ...limits }),
        (error: { code?: string }) => error.code === 'CONFIG_INVALID',
        JSON.stringify(limits),
      );
    }
  });

  it('a startup packet whose parameter list lacks its final NUL gets 08P01, as from PostgreSQL', async () => {
    const proxy = await proxyWith();
    const address = proxy.address as { host: string; port: number };
    const socket = netConnect(address.port, address.host);
    socket.on('error', () => {});
    const closed = closedOf(socket);
    const unterminated = startupMessage({ user: 'orders-api', database: 'postgres' }).subarray(0, -1);
    unterminated.writeInt32BE(unterminated.length, 0);
    socket.write(unterminated);
    const answer = await new PacketReader(socket).readTyped(1_024);
    assert.equal(answer.type, 'E');
    assert.deepEqual(
      [errorFields(answer.body).C, errorFields(answer.body).M],
      ['08P01', 'invalid startup packet layout: expected terminator as last byte'],
    );
    await closed;
    assert.equal(proxy.stats().protocolErrors, 1);
    const client = clientOf(proxy);
    await client.connect();
    await client.end();
  });

  it('a seeded fuzz of the login leaves it serving (local password on, so every login phase is reached)', async (t) => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
    t.diagnostic(`seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const localPassword = randomBytes(24).toString('base64url');
    const proxy = await proxyWith({ localPassword });
    const address = proxy.address as { host: string; port: number };
    const validLogin = async () => {
      const client = clientOf(proxy, { password: localPassword });
      try {
        await client.connect();
        assert.equal((await client.query('select 1 as one')).rows[0].one, 1);
      } finally {
        await client.end().catch(() => {});
      }
    };
    const report = await fuzzWireEndpoint({
      host: address.host,
      port: address.port,
      user: 'orders-api',
      validLogin,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      seed,
      cases: 200,
      validLogins: 200,
      loginConcurrency: 20,
    });
    t.diagnostic(`${report.cases} cases ${JSON.stringify(report.byKind)} in ${report.durationMs} ms`);
    assert.deepEqual(report.failures, [], `seed ${seed}: ${report.failures.length} broken expectations`);
    assert.equal(report.validLogins, 200, `seed ${seed}`);
    const stats = proxy.stats();
    assert.ok(stats.handshakeTimeouts > 0, `seed ${seed}: slow clients were cut: ${JSON.stringify(stats)}`);
    assert.ok(stats.loginsRejected > 0 && stats.protocolErrors > 0, `seed ${seed}: ${JSON.stringify(stats)}`);
    await validLogin();
  });
  // Last: the emulator refuses the revoked token from here on.
  it('a revoked token: MSAL hands the same one back, so the server’s refusal reaches the client as it is', async () => {
    const proxy = await proxyWith();
    const first = clientOf(proxy);
    await first.connect();
    await first.end();
    assert.ok(emulator.revokeAcceptedTokens() > 0);
    await assert.rejects(clientOf(proxy).connect(), (error: { code?: string }) => error.code === '28P01');
    // MSAL answers from its process-wide cache, with no way past it: no renewed token, no retry.
    assert.equal(proxy.stats().tokenRenewals, 0);
  });
});

describe('pg-passwordless proxy (in process, AWS): a revoked token is renewed once', () => {
  let emulator: Emulator;
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws' });
    Object.assign(process.env, emulator.env);
    upstream = upstreamFor(await resolveCliConnection({ env: emulator.env }));
    proxy = await startProxy({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, upstream });
  });
  after(async () => {
    await proxy?.close();
    await emulator?.stop();
  });

  /** Logs in through `through`, asks who it is, and leaves. */
  async function roleThrough(through: RunningProxy): Promise<string> {
    const { host, port } = through.address as { host: string; port: number };
    const client = new pg.Client({ host, port, user: emulator.env.PGUSER, database: 'postgres', ssl: false });
    await client.connect();
    const { rows } = await client.query('select current_user as role');
    await client.end();
    return rows[0].role;
  }

  it('the next login after the revocation renews the token and succeeds', async () => {
    const connect = () => roleThrough(proxy);
    assert.equal(await connect(), emulator.env.PGUSER);
    const before = emulator.counters().tokensIssued;
    assert.ok(emulator.revokeAcceptedTokens() > 0);
    assert.equal(await connect(), emulator.env.PGUSER);
    assert.equal(proxy.stats().tokenRenewals, 1);
    assert.equal(emulator.counters().tokensIssued - before, 1, 'new credentials from the endpoint');
  });

  it('logins refused together all wait for the one renewal, and all succeed', async () => {
    // A proxy of its own: the one above renewed less than 30 s ago, and renewals are that far apart.
    const fresh = await startProxy({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, upstream });
    const connect = () => roleThrough(fresh);
    try {
      await connect();
      assert.ok(emulator.revokeAcceptedTokens() > 0);
      const results = await Promise.allSettled(Array.from({ length: 5 }, connect));
      assert.deepEqual(
        results.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok')),
        ['ok', 'ok', 'ok', 'ok', 'ok'],
      );
      assert.equal(fresh.stats().tokenRenewals, 1, 'one renewal for the five');
    } finally {
      await fresh.close();
    }
  });
});

/** A CancelRequest as libpq sends it: length 16, code 80877102, process id, secret key. */
function sendCancel(proxy: RunningProxy, processId: number, secretKey: number): Promise<void> {
  const address = proxy.address as { host: string; port: number };
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processId, 8);
  packet.writeInt32BE(secretKey | 0, 12);
  return new Promise((resolve, reject) => {
    const socket = netConnect(address.port, address.host, () => socket.end(packet));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

/** A TCP connection to the proxy that sends nothing, once connected. */
function openSilent(proxy: RunningProxy): Promise<Socket> {
  const address = proxy.address as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const socket = netConnect(address.port, address.host, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the socket has closed (at once if it already has). */
function closedOf(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Waits until `condition` holds, checking every 10 ms, for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'the condition never held');
}
