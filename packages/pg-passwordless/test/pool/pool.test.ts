// `pg-passwordless pool`: the bin as a user runs it, with a real PgBouncer, against the emulator (Azure
// managed identity), with real psql and pg. Clients use exactly the URL the pool prints.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { createCertificates } from '../../../pg-passwordless-emulator/src/certificates.ts';
import { runCli, runProgram } from '../cli/run-cli.ts';
import {
  assertPrivateFolder,
  isRunning,
  processArguments,
  startPoolCli,
  stopPool,
  TOKEN_LIKE,
} from './run-pool.ts';

/** psql with nothing of the emulator's environment: all it knows is the URL. */
const psql = (url: string, sql: string, env: Record<string, string> = {}) =>
  runProgram('psql', ['-X', '-At', '-d', url, '-c', sql], env);

/** Waits until a process is gone (the supervisor stops PgBouncer a moment after the pool dies). */
async function waitUntilGone(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 400 && isRunning(pid); attempt++) await sleep(25);
}

describe('pg-passwordless pool (Azure managed identity)', () => {
  let emulator: Emulator;
  let scratch: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    scratch = mkdtempSync(join(tmpdir(), 'pool-test-'));
  });
  after(async () => {
    await emulator?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('200 pg clients at once are served by at most --pool-size server logins and one identity request; nothing leaks', async () => {
    const pool = await startPoolCli(
      [
        '--listen',
        '127.0.0.1:0',
        '--pool-mode',
        'transaction',
        '--pool-size',
        '5',
        '--max-client-conn',
        '300',
      ],
      emulator.env,
    );
    assert.match(pool.url, /^postgresql:\/\/orders-api@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
    assert.match(pool.cli.stderr(), /transaction pooling: .*postgres\.js with prepare: false/);
    const loginsBefore = emulator.counters().gateway.loginsAccepted;
    const clients = Array.from({ length: 200 }, () => new pg.Client({ connectionString: pool.url }));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      const backends = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const rows = await Promise.all(
          clients.map(
            async (client) =>
              (await client.query('select pg_backend_pid() as pid, current_user as role')).rows[0],
          ),
        );
        for (const row of rows) {
          assert.equal(row.role, 'orders-api');
          backends.add(row.pid);
        }
      }
      assert.ok(backends.size <= 5, `${backends.size} server sessions for 200 clients`);
      // While they are all connected: no token in any process's arguments, PgBouncer's environment
      // or PgBouncer's files.
      assert.doesNotMatch(processArguments(), TOKEN_LIKE);
      const environment = readFileSync(`/proc/${pool.pgbouncerPid}/environ`, 'utf8');
      assert.doesNotMatch(environment, /IDENTITY_|PG_PASSWORDLESS_|DATABASE_URL|PGSSLROOTCERT/);
      assert.deepEqual(assertPrivateFolder(pool.folder), [
        '.s.PGSQL.5432',
        '.s.PGSQL.5432.lock',
        'hba.conf',
        'pgbouncer.ini',
        'users.txt',
      ]);
    } finally {
      await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    }
    const { gateway, identityRequests } = emulator.counters();
    assert.ok(
      gateway.loginsAccepted - loginsBefore <= 5,
      `${gateway.loginsAccepted - loginsBefore} server logins`,
    );
    assert.ok(gateway.loginsAccepted - loginsBefore >= 1);
    assert.equal(identityRequests, 1, 'one token for the pool and all its server logins');
    const stopped = await stopPool(pool);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitUntilGone(pool.pgbouncerPid);
    assert.equal(isRunning(pool.pgbouncerPid), false, 'PgBouncer ended');
    assert.equal(existsSync(pool.folder), false, 'its folder removed');
  });

  it('the admin console lets no client in, by name or as "pgbouncer"; another role is refused', async () => {
    const pool = await startPoolCli(['--listen', '127.0.0.1:0'], emulator.env);
    const admin = new URL(pool.url);
    admin.pathname = '/pgbouncer';
    for (const user of ['orders-api', 'pgbouncer']) {
      admin.username = user;
      const refused = await psql(admin.href, 'show pools');
      assert.notEqual(refused.code, 0, user);
      assert.match(refused.stderr, /FATAL: {2}not allowed/, user);
    }
    const other = new URL(pool.url);
    other.username = 'postgres';
    const stranger = await psql(other.href, 'select 1');
    assert.notEqual(stranger.code, 0);
    assert.match(stranger.stderr, /"trust" authentication failed/);
    const ok = await psql(pool.url, 'select current_user');
    assert.equal(ok.stdout.trim(), 'orders-api', ok.stderr);
    assert.equal((await stopPool(pool)).code, 0);
  });

  it('a server login the server refuses reaches the client, and the log names it without the token', async () => {
    const ghost = `postgresql://ghost@127.0.0.1:${emulator.gateway.port}/postgres`;
    const pool = await startPoolCli([ghost, '--listen', '127.0.0.1:0'], emulator.env);
    const refused = await psql(pool.url, 'select 1');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /FATAL: {2}password authentication failed for user "ghost"/);
    const stopped = await stopPool(pool);
    assert.match(
      stopped.stderr,
      /pg-passwordless pool: server login: refused a login from a local socket: 28P01 password authentication failed for user "ghost"\n/,
    );
    assert.match(
      stopped.stderr,
      /pg-passwordless pool: pgbouncer: WARNING server login failed: FATAL password authentication failed/,
    );
  });

  it('SIGTERM: an open transaction finishes, then PgBouncer exits and its files are gone', async () => {
    const pool = await startPoolCli(['--listen', '127.0.0.1:0', '--shutdown-grace', '30'], emulator.env);
    const client = new pg.Client({ connectionString: pool.url });
    await client.connect();
    await client.query('begin');
    pool.cli.child.kill('SIGTERM');
    await sleep(300);
    assert.equal((await client.query("select 'still here' as text")).rows[0].text, 'still here');
    await client.query('commit');
    await client.end();
    const stopped = await stopPool(pool, null);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /SIGTERM: PgBouncer's safe shutdown, open transactions get 30 s to finish/);
    assert.match(stopped.stderr, /pgbouncer: LOG got SIGINT, shutting down/);
    assert.doesNotMatch(stopped.stderr, /grace period ended/);
    await waitUntilGone(pool.pgbouncerPid);
    assert.equal(isRunning(pool.pgbouncerPid), false);
    assert.equal(existsSync(pool.folder), false);
  });

  it('SIGTERM then the grace period: a session still open is cut; a second signal cuts at once', async () => {
    for (const second of [false, true]) {
      const pool = await startPoolCli(
        ['--listen', '127.0.0.1:0', '--shutdown-grace', second ? '60' : '1'],
        emulator.env,
      );
      const client = new pg.Client({ connectionString: pool.url });
      client.on('error', () => {});
      await client.connect();
      await client.query('begin');
      pool.cli.child.kill('SIGTERM');
      if (second) {
        await sleep(300);
        pool.cli.child.kill('SIGINT');
      }
      const stopped = await stopPool(pool, null);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, second ? /SIGINT again: PgBouncer's fast exit/ : /the grace period ended/);
      await assert.rejects(client.query('select 1'), 'the session was cut');
      await waitUntilGone(pool.pgbouncerPid);
      assert.equal(isRunning(pool.pgbouncerPid), false);
    }
  });

  it('SIGKILL of the command leaves no PgBouncer, no socket and no file behind', async () => {
    // A folder PgBouncer's user may write in (the pool runs it as postgres when the tests run as root).
    const sockets = mkdtempSync(join(tmpdir(), 'pool-sockets-'));
    chmodSync(sockets, 0o777);
    const pool = await startPoolCli(['--unix-socket', sockets, '--unix-port', '6544'], emulator.env);
    assert.equal(pool.url, `postgresql://orders-api@/postgres?host=${sockets}&port=6544`);
    const ok = await psql(pool.url, 'select current_user');
    assert.equal(ok.stdout.trim(), 'orders-api', ok.stderr);
    assert.ok(existsSync(join(sockets, '.s.PGSQL.6544')));
    pool.cli.child.kill('SIGKILL');
    await pool.cli.done;
    await waitUntilGone(pool.pgbouncerPid);
    assert.equal(isRunning(pool.pgbouncerPid), false, 'PgBouncer stopped by its supervisor');
    for (let attempt = 0; attempt < 200 && existsSync(pool.folder); attempt++) await sleep(25);
    assert.equal(existsSync(pool.folder), false, 'its folder removed');
    assert.equal(existsSync(join(sockets, '.s.PGSQL.6544')), false, 'its socket removed');
    rmSync(sockets, { recursive: true, force: true });
  });

  it('off loopback only with a local password (SCRAM); a wrong one is refused', async () => {
    const refused = await runCli(['pool', '--listen', '0.0.0.0:0'], emulator.env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /CONFIG_INVALID: Refusing to listen on 0\.0\.0\.0 without a local password/);
    const passwordFile = join(scratch, 'pool-password');
    writeFileSync(passwordFile, 'a-local-secret-for-tests\n', { mode: 0o600 });
    const pool = await startPoolCli(
      ['--listen', '0.0.0.0:0', '--local-password-file', passwordFile],
      emulator.env,
    );
    const local = new URL(pool.url.replace('0.0.0.0', '127.0.0.1'));
    const ok = await psql(local.href, 'select current_user', { PGPASSWORD: 'a-local-secret-for-tests' });
    assert.equal(ok.stdout.trim(), 'orders-api', ok.stderr);
    const wrong = await psql(local.href, 'select 1', { PGPASSWORD: 'not-the-secret' });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /SASL authentication failed/);
    assert.doesNotMatch(readFileSync(join(pool.folder, 'users.txt'), 'utf8'), TOKEN_LIKE);
    assert.equal((await stopPool(pool)).code, 0);
  });

  it('with --local-tls-cert/--local-tls-key, psql from another host must use TLS and verifies the pool', async (t) => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
    if (!address) return t.skip('this machine has no address but loopback');
    const certificates = createCertificates([address]);
    const [ca, cert, key, passwordFile] = ['ca.pem', 'pool.crt', 'pool.key', 'tls-password'].map((name) =>
      join(scratch, name),
    ) as [string, string, string, string];
    writeFileSync(ca, certificates.caCertPem);
    writeFileSync(cert, certificates.serverCertPem);
    writeFileSync(key, certificates.serverKeyPem, { mode: 0o600 });
    writeFileSync(passwordFile, 'a-local-secret-for-tests\n', { mode: 0o600 });
    const pool = await startPoolCli(
      [
        '--listen',
        `${address}:0`,
        '--local-password-file',
        passwordFile,
        '--local-tls-cert',
        cert,
        '--local-tls-key',
        key,
      ],
      emulator.env,
    );
    assert.match(pool.url, /\?sslmode=verify-full$/);
    const base = pool.url.split('?')[0] as string;
    const password = { PGPASSWORD: 'a-local-secret-for-tests' };
    const plain = await psql(`${base}?sslmode=disable`, 'select 1', password);
    assert.notEqual(plain.code, 0, 'a plain connection from the network is refused');
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
    assert.match(verified.stdout, /^orders-api\n.*SSL connection/s);
    assert.deepEqual(assertPrivateFolder(pool.folder), [
      '.s.PGSQL.5432',
      '.s.PGSQL.5432.lock',
      'client-tls.crt',
      'client-tls.key',
      'hba.conf',
      'pgbouncer.ini',
      'users.txt',
    ]);
    assert.equal((await stopPool(pool)).code, 0);
  });

  it('no token at start (the identity endpoint refuses): exit 1 with a code, and no PgBouncer', async () => {
    emulator.setFaults({ status: 400 });
    try {
      const result = await runCli(['pool', '--listen', '127.0.0.1:0'], emulator.env);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^pg-passwordless: [A-Z_]+: /);
      assert.doesNotMatch(result.stdout + result.stderr, /connect with|PgBouncer \(PID/);
    } finally {
      emulator.clearFaults();
    }
  });

  it('--help, and bad arguments get a stable code and a hint', async () => {
    const help = await runCli(['pool', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--pool-mode MODE .*session \(default/);
    assert.match(help.stdout, /postgres\.js with prepare: false/);
    const cases: Array<[string[], RegExp]> = [
      [
        ['--listen', '/tmp'],
        /--listen takes HOST:PORT or PORT.\nHint: For a Unix socket: --unix-socket \/tmp/,
      ],
      [['--listen', '6432', '--unix-socket', '/tmp'], /go one at a time/],
      [['--unix-socket', 'relative'], /absolute folder/],
      [['--pool-mode', 'statement'], /--pool-mode must be one of session, transaction/],
      [['--pool-size', '0'], /--pool-size must be a whole number from 1/],
      [['--server-lifetime', '0'], /--server-lifetime must be a whole number from 1/],
      [['--local-tls-cert', '/tmp/x.crt'], /go together/],
      ...(process.getuid?.() === 0
        ? ([
            [['--pgbouncer-user', 'no-such-user-here'], /No OS user "no-such-user-here" to run PgBouncer as/],
            [['--pgbouncer-user', 'root'], /"root" is root, which PgBouncer refuses to run as/],
          ] as Array<[string[], RegExp]>)
        : [
            [['--pgbouncer-user', 'postgres'], /--pgbouncer-user is for a pool started as root/] as [
              string[],
              RegExp,
            ],
          ]),
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['pool', ...args], emulator.env);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, /^pg-passwordless: CONFIG_INVALID: /, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});
