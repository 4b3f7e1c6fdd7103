// The pool's PgBouncer configuration, line by line: what clients may do, where server logins go, and
// what PgBouncer's lifetime for server connections becomes under a session cap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PgbouncerSettings, pgbouncerFiles } from '../../src/pool/pgbouncer-config.ts';
import { poolServerLifetime } from '../../src/pool/server-lifetime.ts';

const BASE: PgbouncerSettings = {
  folder: '/tmp/pool-test',
  server: { folder: '/tmp/pool-test', port: 5432 },
  listen: { kind: 'tcp', host: '127.0.0.1', port: 6432 },
  role: 'orders-api',
  localPassword: undefined,
  localTls: undefined,
  poolMode: 'session',
  poolSize: 20,
  maxClientConn: 100,
  serverLifetimeSeconds: 1800,
};

/** The `name = value` settings of the [pgbouncer] section. */
function settingsOf(ini: string): Map<string, string> {
  const section = ini.split('[pgbouncer]\n')[1] ?? '';
  return new Map(
    section
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => {
        const [name, ...value] = line.split('=');
        return [(name as string).trim(), value.join('=').trim()];
      }),
  );
}

describe('pgbouncerFiles', () => {
  it('sends every server login to the pool’s proxy socket, never over TLS of its own, and knows one role', () => {
    const files = pgbouncerFiles(BASE);
    assert.match(
      files['pgbouncer.ini'],
      /^\[databases\]\n\* = host='\/tmp\/pool-test' port=5432\n\[pgbouncer\]\n/,
    );
    const settings = settingsOf(files['pgbouncer.ini']);
    assert.equal(settings.get('server_tls_sslmode'), 'disable');
    assert.equal(settings.get('auth_type'), 'hba');
    assert.equal(settings.get('auth_file'), '/tmp/pool-test/users.txt');
    assert.equal(settings.get('auth_hba_file'), '/tmp/pool-test/hba.conf');
    assert.equal(files['users.txt'], '"orders-api" ""\n');
    assert.equal(settings.get('pool_mode'), 'session');
    assert.equal(settings.get('default_pool_size'), '20');
    assert.equal(settings.get('max_client_conn'), '100');
    assert.equal(settings.get('server_lifetime'), '1800');
    assert.equal(settings.get('ignore_startup_parameters'), 'extra_float_digits');
    assert.doesNotMatch(files['pgbouncer.ini'], /logfile|pidfile|password/);
  });

  it('keeps the admin console closed: no admin or stats users, and no Unix socket when clients use TCP', () => {
    const settings = settingsOf(pgbouncerFiles(BASE)['pgbouncer.ini']);
    assert.equal(settings.get('admin_users'), '');
    assert.equal(settings.get('stats_users'), '');
    assert.equal(settings.get('listen_addr'), '127.0.0.1');
    assert.equal(settings.get('listen_port'), '6432');
    assert.equal(settings.get('unix_socket_dir'), '');
  });

  it('a Unix socket for clients: mode 0600, no TCP', () => {
    const settings = settingsOf(
      pgbouncerFiles({
        ...BASE,
        listen: { kind: 'unix', folder: '/run/pool', port: 6433, path: '/run/pool/.s.PGSQL.6433' },
      })['pgbouncer.ini'],
    );
    assert.equal(settings.get('listen_addr'), '');
    assert.equal(settings.get('listen_port'), '6433');
    assert.equal(settings.get('unix_socket_dir'), '/run/pool');
    assert.equal(settings.get('unix_socket_mode'), '0600');
  });

  it('without a local password everyone local is trusted; with one, SCRAM from everyone', () => {
    assert.deepEqual(pgbouncerFiles(BASE)['hba.conf'].trim().split('\n'), [
      'local all all trust',
      'host all all 127.0.0.0/8 trust',
      'host all all ::1/128 trust',
      'host all all 0.0.0.0/0 trust',
      'host all all ::/0 trust',
    ]);
    const files = pgbouncerFiles({ ...BASE, localPassword: 'a "quoted" secret' });
    assert.equal(files['users.txt'], '"orders-api" "a ""quoted"" secret"\n');
    assert.ok(
      files['hba.conf']
        .trim()
        .split('\n')
        .every((line) => line.endsWith(' scram-sha-256')),
    );
  });

  it('with local TLS, clients from the network must use it; loopback and the Unix socket may stay plain', () => {
    const files = pgbouncerFiles({
      ...BASE,
      localPassword: 'a-local-secret',
      localTls: { certFile: '/tmp/pool-test/client-tls.crt', keyFile: '/tmp/pool-test/client-tls.key' },
    });
    const settings = settingsOf(files['pgbouncer.ini']);
    assert.equal(settings.get('client_tls_sslmode'), 'allow');
    assert.equal(settings.get('client_tls_cert_file'), '/tmp/pool-test/client-tls.crt');
    assert.deepEqual(files['hba.conf'].trim().split('\n'), [
      'local all all scram-sha-256',
      'host all all 127.0.0.0/8 scram-sha-256',
      'host all all ::1/128 scram-sha-256',
      'hostssl all all 0.0.0.0/0 scram-sha-256',
      'hostssl all all ::/0 scram-sha-256',
    ]);
    assert.equal(settingsOf(pgbouncerFiles(BASE)['pgbouncer.ini']).get('client_tls_sslmode'), 'disable');
  });

  it('quotes a role and a folder PgBouncer would misread, and refuses a line break that would add a setting', () => {
    const files = pgbouncerFiles({ ...BASE, role: 'o"brien', server: { folder: "/tmp/it's", port: 5432 } });
    assert.equal(files['users.txt'], '"o""brien" ""\n');
    assert.match(files['pgbouncer.ini'], /^\* = host='\/tmp\/it''s' port=5432$/m);
    for (const settings of [
      { ...BASE, role: 'app\nadmin_users = app' },
      { ...BASE, listen: { kind: 'unix', folder: '/tmp/x\nauth_type = any', port: 1, path: '/x' } } as const,
    ]) {
      assert.throws(() => pgbouncerFiles(settings), { code: 'CONFIG_INVALID', message: /control character/ });
    }
  });
});

describe('poolServerLifetime', () => {
  it('is 30 minutes by default, or what was asked, when the server has no session cap', () => {
    assert.equal(poolServerLifetime(undefined, undefined), 1800);
    assert.equal(poolServerLifetime(7200, undefined), 7200);
  });

  it('under a cap, the last of a pool opened at once (closed up to twice the lifetime) ends a tenth before it', () => {
    for (const cap of [3600, 60, 10]) {
      const lifetime = poolServerLifetime(undefined, cap);
      assert.ok(lifetime * 2 <= cap * 0.9, `${lifetime} s under a cap of ${cap} s`);
      assert.ok(lifetime >= Math.floor((cap * 0.9) / 2), 'and no shorter than needed');
    }
    assert.equal(poolServerLifetime(600, 3600), 600, 'a lifetime that fits is kept');
    assert.equal(poolServerLifetime(3000, 3600), 1620, 'one that does not is shortened');
  });
});
