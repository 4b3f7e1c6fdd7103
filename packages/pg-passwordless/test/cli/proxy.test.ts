// `pg-passwordless proxy`: the bin as a user runs it, against the emulator, with real psql. Clients
// use exactly the URL the proxy prints; no token goes to them at all.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { createCertificates } from '../../../pg-passwordless-emulator/src/certificates.ts';
import { parseProxyArgs } from '../../src/cli/proxy-command.ts';
import { localUrl } from '../../src/cli/proxy-service.ts';
import { isLoopback, parseListenAddress } from '../../src/proxy/listen-address.ts';
import { errorFields } from '../../src/wire/messages.ts';
import { PacketReader } from '../../src/wire/packet-reader.ts';
import { holdSilentConnections } from '../proxy/silent-connections.ts';
import { type RunningCli, runCli, runProgram, startCli, startProgram } from './run-cli.ts';

/** Starts the proxy on a free port and returns it with the URL it printed for clients. */
async function startProxyCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ proxy: RunningCli; url: string }> {
  const proxy = startCli(['proxy', ...args], env, 120_000);
  await proxy.waitFor('connect with: ');
  const url = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
  return { proxy, url };
}

/** psql with nothing of the emulator's environment: all it knows is the URL. */
const psql = (url: string, sql: string, env: Record<string, string> = {}) =>
  runProgram('psql', ['-X', '-At', '-d', url, '-c', sql], env);

/** What a token looks like (an Entra or Google JWT, a Google access token, an RDS presigned URL). */
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\.|ya29\.|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;

/** Stops the proxy with SIGTERM; nothing it printed looks like a token. */
async function stop(proxy: RunningCli) {
  proxy.child.kill('SIGTERM');
  const result = await proxy.done;
  assert.doesNotMatch(result.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(result.stderr, TOKEN_LIKE, 'no token on stderr');
  return result;
}

describe('pg-passwordless proxy (Azure)', () => {
  let emulator: Emulator;
  let folder: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    folder = mkdtempSync(join(tmpdir(), 'proxy-test-'));
  });
  after(async () => {
    await emulator?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('psql logs in through the printed URL, with no password and no TLS to the proxy', async () => {
    const { proxy, url } = await startProxyCli(['--listen', '127.0.0.1:0'], emulator.env);
    assert.match(url, /^postgresql:\/\/orders-api@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
    assert.match(proxy.stdout(), /listening on 127\.0\.0\.1:\d+ for orders-api@127\.0\.0\.1:\d+\/postgres/);
    const result = await psql(url, 'select current_user');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
    const stopped = await stop(proxy);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: no new sessions \(cancel requests still pass\)/);
  });

  it('psql’s Ctrl-C cancels the query on the right upstream session', async () => {
    const { proxy, url } = await startProxyCli(['--listen', '127.0.0.1:0'], emulator.env);
    const running = startProgram('psql', ['-X', '-At', '-d', url, '-c', 'select pg_sleep(30)'], {});
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const startedAt = Date.now();
    running.child.kill('SIGINT');
    const result = await running.done;
    assert.match(result.stderr, /canceling statement due to user request/);
    assert.ok(Date.now() - startedAt < 10_000, 'cancelled, not run to its end');
    await stop(proxy);
  });

  it('a Unix socket only this user can open: psql -h <folder>', async () => {
    const { proxy, url } = await startProxyCli(['--listen', folder, '--unix-port', '6543'], emulator.env);
    assert.equal(url, `postgresql://orders-api@/postgres?host=${folder}&port=6543`);
    const socket = join(folder, '.s.PGSQL.6543');
    assert.equal((statSync(socket).mode & 0o777).toString(8), '600');
    const result = await runProgram(
      'psql',
      [
        '-X',
        '-At',
        '-h',
        folder,
        '-p',
        '6543',
        '-U',
        'orders-api',
        '-d',
        'postgres',
        '-c',
        'select current_user',
      ],
      {},
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
    await stop(proxy);
  });

  it('off loopback only with a local password (a 0600 file); psql sends it, a wrong one is refused', async () => {
    const refused = await runCli(['proxy', '--listen', '0.0.0.0:0'], emulator.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /CONFIG_INVALID: Refusing to listen on 0\.0\.0\.0 without a local password/);
    assert.match(refused.stderr, /--local-password-file/);

    const passwordFile = join(folder, 'proxy-password');
    writeFileSync(passwordFile, 'a-local-secret-for-tests\n', { mode: 0o644 });
    chmodSync(passwordFile, 0o644);
    const readable = await runCli(
      ['proxy', '--listen', '0.0.0.0:0', '--local-password-file', passwordFile],
      emulator.env,
    );
    assert.equal(readable.code, 1);
    assert.match(readable.stderr, /can be read by others \(mode 644\)/);

    chmodSync(passwordFile, 0o600);
    const { proxy, url } = await startProxyCli(
      ['--listen', '0.0.0.0:0', '--local-password-file', passwordFile],
      emulator.env,
    );
    const port = new URL(url).port;
    const local = `postgresql://orders-api@127.0.0.1:${port}/postgres?sslmode=disable`;
    const ok = await psql(local, 'select current_user', { PGPASSWORD: 'a-local-secret-for-tests' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'orders-api');
    const wrong = await psql(local, 'select 1', { PGPASSWORD: 'not-the-secret' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /password authentication failed for user "orders-api"/);
    const stopped = await stop(proxy);
    assert.match(stopped.stderr, /refused a login from 127\.0\.0\.1:\d+: 28P01/);
  });

  it('with --local-tls-cert/--local-tls-key, psql from another host must use TLS and verifies the proxy', async (t) => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
    if (!address) return t.skip('this machine has no address but loopback');
    const certificates = createCertificates([address]);
    const ca = join(folder, 'proxy-ca.pem');
    const cert = join(folder, 'proxy.crt');
    const key = join(folder, 'proxy.key');
    writeFileSync(ca, certificates.caCertPem);
    writeFileSync(cert, certificates.serverCertPem);
    writeFileSync(key, certificates.serverKeyPem, { mode: 0o600 });
    const passwordFile = join(folder, 'proxy-password-tls');
    writeFileSync(passwordFile, 'a-local-secret-for-tests\n', { mode: 0o600 });
    const tlsArgs = ['--local-tls-cert', cert, '--local-tls-key', key];

    // The files are checked at start: a key open to others, a key of another certificate, half a pair.
    chmodSync(key, 0o644);
    const open = await runCli(['proxy', '--listen', '127.0.0.1:0', ...tlsArgs], emulator.env);
    assert.match(open.stderr, /CONFIG_INVALID: The TLS key file .* is open to others \(mode 644\)/);
    chmodSync(key, 0o600);
    const otherKey = join(folder, 'other.key');
    writeFileSync(otherKey, createCertificates().serverKeyPem, { mode: 0o600 });
    const mismatch = await runCli(
      ['proxy', '--listen', '127.0.0.1:0', '--local-tls-cert', cert, '--local-tls-key', otherKey],
      emulator.env,
    );
    assert.match(
      mismatch.stderr,
      /CONFIG_INVALID: The local TLS certificate and key cannot be used: .*key values mismatch/,
    );
    const half = await runCli(['proxy', '--local-tls-cert', cert], emulator.env);
    assert.match(half.stderr, /CONFIG_INVALID: --local-tls-cert and --local-tls-key go together/);

    const { proxy, url } = await startProxyCli(
      ['--listen', `${address}:0`, '--local-password-file', passwordFile, ...tlsArgs],
      emulator.env,
    );
    assert.match(url, /\?sslmode=verify-full$/);
    assert.match(
      proxy.stdout(),
      /clients verify .*proxy\.crt against the CA that signed it: add sslrootcert=/,
    );
    const port = new URL(url).port;
    const base = `postgresql://orders-api@${address}:${port}/postgres`;
    const password = { PGPASSWORD: 'a-local-secret-for-tests' };
    const plain = await psql(`${base}?sslmode=disable`, 'select 1', password);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /connections from [\d.]+:\d+ must use TLS/);
    const verified = await runProgram(
      'psql',
      [
        '-X',
        '-At',
        '-d',
        `${base}?sslmode=verify-full&sslrootcert=${ca}`,
        '-c',
        'select current_user',
        '-c',
        '\\conninfo',
      ],
      password,
    );
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^orders-api\n/);
    assert.match(verified.stdout, /SSL connection \(protocol: TLSv1\.[23]/);
    const otherCa = join(folder, 'other-ca.pem');
    writeFileSync(otherCa, createCertificates([address]).caCertPem);
    const unverified = await psql(`${base}?sslmode=verify-full&sslrootcert=${otherCa}`, 'select 1', password);
    assert.notEqual(unverified.code, 0);
    // Both CAs bear the same name, so OpenSSL checks the signature with the wrong CA's key, and its
    // error varies with the bytes (certificate verify failed, invalid padding, data too large for modulus).
    assert.match(unverified.stderr, /failed: SSL error: /);
    const stopped = await stop(proxy);
    assert.match(
      stopped.stderr,
      /refused a login from [\d.]+:\d+: 28000 pg-passwordless proxy: connections from/,
    );

    // On loopback the plain leg stays allowed with TLS on, as without it; TLS is there for the asking.
    const onLoopback = await startProxyCli(['--listen', '127.0.0.1:0', ...tlsArgs], emulator.env);
    const loopbackPort = new URL(onLoopback.url).port;
    const plainLocal = await psql(
      `postgresql://orders-api@127.0.0.1:${loopbackPort}/postgres?sslmode=disable`,
      'select current_user',
    );
    assert.equal(plainLocal.code, 0, plainLocal.stderr);
    assert.equal(plainLocal.stdout.trim(), 'orders-api');
    const tlsLocal = await runProgram(
      'psql',
      ['-X', '-At', '-d', `${onLoopback.url}&sslrootcert=${ca}`, '-c', '\\conninfo'],
      {},
    );
    assert.equal(tlsLocal.code, 0, tlsLocal.stderr);
    assert.match(tlsLocal.stdout, /SSL connection/);
    await stop(onLoopback.proxy);
  });

  it('SIGTERM lets an open session finish within the grace period, then closes it; a second signal closes at once', async () => {
    const { proxy, url } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--shutdown-grace', '2'],
      emulator.env,
    );
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    proxy.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await client.query('select 1 as one')).rows[0].one, 1, 'the session still works');
    const refused = await psql(url, 'select 1');
    assert.notEqual(refused.code, 0, 'no new connections');
    const ended = await proxy.done;
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stderr, /closed 1 sessions still open at the deadline/);
    await assert.rejects(client.query('select 1'), 'closed at the deadline');

    const again = await startProxyCli(['--listen', '127.0.0.1:0', '--shutdown-grace', '60'], emulator.env);
    const holder = new pg.Client({ connectionString: again.url });
    holder.on('error', () => {});
    await holder.connect();
    again.proxy.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    again.proxy.child.kill('SIGINT');
    const second = await again.proxy.done;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /SIGINT again: closing the remaining sessions now/);
  });

  it('1000 connections that never speak, opened again as they are closed, do not keep psql out', async () => {
    const { proxy, url } = await startProxyCli(['--listen', '127.0.0.1:0'], emulator.env);
    const { port } = new URL(url);
    // As many as the proxy's places for connections that have not logged in (its default): under the
    // old listener limit of 1000 connections, psql's was closed without a word.
    const silent = holdSilentConnections({ host: '127.0.0.1', port: Number(port) }, 1_000);
    try {
      await silent.ready;
      assert.deepEqual(silent.stats(), { opened: 1_000, open: 1_000, closedByServer: 0, failedToConnect: 0 });
      const result = await psql(url, 'select 1');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), '1');
      // psql's connection took the place of the oldest silent one, which was opened again at once.
      await silent.firstClosedByServer;
      const { closedByServer, failedToConnect, opened } = silent.stats();
      assert.ok(closedByServer >= 1 && opened === 1_000 + closedByServer, JSON.stringify(silent.stats()));
      assert.equal(failedToConnect, 0);
    } finally {
      silent.stop();
    }
    const stopped = await stop(proxy);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.doesNotMatch(stopped.stderr, /the listener failed|refused a login/);
  });

  it('--max-sessions: psql beyond them hears "sorry, too many clients already" (53300), as from PostgreSQL', async () => {
    const { proxy, url } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--max-sessions', '1'],
      emulator.env,
    );
    const holder = new pg.Client({ connectionString: url });
    holder.on('error', () => {});
    try {
      await holder.connect();
      const refused = await psql(url, 'select 1');
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /FATAL: {2}sorry, too many clients already/);
      assert.equal((await holder.query('select 1 as one')).rows[0].one, 1, 'the open session goes on');
    } finally {
      await holder.end();
    }
    const stopped = await stop(proxy);
    assert.match(
      stopped.stderr,
      /refused a login from 127\.0\.0\.1:\d+: 53300 sorry, too many clients already\n/,
    );
  });

  it('a startup packet without its final NUL is refused as PostgreSQL refuses it; a long user name is logged cut short', async () => {
    const { proxy, url } = await startProxyCli(['--listen', '127.0.0.1:0'], emulator.env);
    const port = Number(new URL(url).port);
    // user=orders-api, database=postgres, and no empty name after them.
    const list = Buffer.from('user\0orders-api\0database\0postgres\0');
    const header = Buffer.alloc(8);
    header.writeInt32BE(8 + list.length, 0);
    header.writeInt32BE(196608, 4);
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const reader = new PacketReader(socket);
    socket.write(Buffer.concat([header, list]));
    const answer = await reader.readTyped(1_024);
    assert.equal(answer.type, 'E');
    assert.deepEqual(errorFields(answer.body), {
      S: 'FATAL',
      V: 'FATAL',
      C: '08P01',
      M: 'invalid startup packet layout: expected terminator as last byte',
    });
    await closed;

    // A role name of 9000 characters, a newline in it: the client hears all of it, the log 128 characters.
    const user = `evil\n${'x'.repeat(9_000)}`;
    const refused = await runProgram(
      'psql',
      ['-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-c', 'select 1'],
      { PGSSLMODE: 'disable' },
    );
    assert.equal(refused.code, 2);
    assert.ok(refused.stderr.includes(`only, not "${user}"`), 'psql shows the whole name');
    const stopped = await stop(proxy);
    const lines = stopped.stderr.split('\n').filter((line) => line.includes('refused a login'));
    assert.equal(lines.length, 2, stopped.stderr);
    assert.match(
      lines[0] as string,
      /: 08P01 invalid startup packet layout: expected terminator as last byte$/,
    );
    assert.match(
      lines[1] as string,
      /^pg-passwordless proxy: refused a login from 127\.0\.0\.1:\d+: 28000 pg-passwordless proxy: this proxy logs in as role "orders-api" only, not "evil\?x{123}…" \(9005 characters\)$/,
    );
  });

  it('no token at start (the identity endpoint refuses): exit 1 with a code, before listening', async () => {
    emulator.setFaults({ status: 400 });
    try {
      const result = await runCli(['proxy', '--listen', '127.0.0.1:0'], emulator.env);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^pg-passwordless: [A-Z_]+: /);
      assert.doesNotMatch(result.stdout, /listening/);
    } finally {
      emulator.clearFaults();
    }
  });

  it('--help, and bad arguments get a stable code', async () => {
    const help = await runCli(['proxy', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--local-password-file FILE/);
    assert.match(help.stdout, /--max-sessions N .*\n.*sorry, too many clients already/);
    const badArgs = [
      ['--listen', 'nowhere'],
      ['--shutdown-grace', 'soon'],
      ['--max-sessions', '0'],
      ['--max-sessions', '1.5'],
      ['--bogus'],
    ];
    for (const args of badArgs) {
      const result = await runCli(['proxy', ...args], emulator.env);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, /^pg-passwordless: CONFIG_INVALID: /, args.join(' '));
    }
  });
});

for (const cloud of ['aws', 'gcp'] as const satisfies readonly CloudName[]) {
  describe(`pg-passwordless proxy (${cloud})`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud });
    });
    after(() => emulator?.stop());

    it('psql logs in through the proxy as the cloud’s database user', async () => {
      const { proxy, url } = await startProxyCli(['--listen', '127.0.0.1:0'], emulator.env);
      const result = await psql(url, 'select current_user');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), emulator.env.PGUSER);
      assert.equal((await stop(proxy)).code, 0);
    });
  });
}

describe('proxy pieces', () => {
  it('parses --listen forms and the local URL for each', async () => {
    assert.deepEqual(parseListenAddress('6432'), { kind: 'tcp', host: '127.0.0.1', port: 6432 });
    assert.deepEqual(parseListenAddress('[::1]:5433'), { kind: 'tcp', host: '::1', port: 5433 });
    assert.deepEqual(parseListenAddress('/run/pg', 6432), {
      kind: 'unix',
      folder: '/run/pg',
      port: 6432,
      path: '/run/pg/.s.PGSQL.6432',
    });
    assert.throws(() => parseListenAddress('host:99999'), { code: 'CONFIG_INVALID' });
    assert.equal(
      localUrl({ kind: 'tcp', host: '::1', port: 5433 }, 'orders@shop', 'orders'),
      'postgresql://orders%40shop@[::1]:5433/orders?sslmode=disable',
    );
    assert.equal((await parseProxyArgs(['--shutdown-grace=1.5'])).shutdownGraceMs, 1_500);
    assert.equal((await parseProxyArgs(['--max-sessions=250'])).maxSessions, 250);
    assert.equal((await parseProxyArgs([])).maxSessions, undefined, 'the proxy’s own default');
  });

  it('loopback means every address of the name', async () => {
    assert.equal(await isLoopback('127.0.0.1'), true);
    assert.equal(await isLoopback('::1'), true);
    assert.equal(await isLoopback('localhost'), true);
    assert.equal(await isLoopback('0.0.0.0'), false);
    assert.equal(await isLoopback('10.1.2.3'), false);
  });
});
