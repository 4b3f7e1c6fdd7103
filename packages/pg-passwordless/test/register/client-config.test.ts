import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'pg-connection-string';
import { parseConnectionUrl } from '../../src/core/connection-url.ts';
import { planClient } from '../../src/register/client-config.ts';

const target = parseConnectionUrl('postgresql://orders-api@db.example.com:5432/orders', {});
const pgDefaults = { host: 'localhost', port: 5432, password: null, ssl: false };
const token = async () => 'not a real token';
const plan = (config: Parameters<typeof planClient>[0], env: Record<string, string> = {}) =>
  planClient(config, target, env, pgDefaults, parse, token);

describe('planClient: which pg clients get the token, read as pg reads its config', () => {
  it('a connectionString without a password: the URL is spread out, so its empty password cannot replace the token', () => {
    const planned = plan({
      connectionString: 'postgresql://db.example.com/orders?sslmode=verify-full',
      max: 5,
    });
    assert.ok(planned);
    assert.equal(planned.config.connectionString, undefined);
    assert.equal(planned.config.password, token);
    assert.equal(planned.config.user, 'orders-api');
    assert.equal(planned.config.database, 'orders');
    assert.equal(planned.config.max, 5);
    assert.equal(planned.config.ssl, planned.ssl);
    assert.equal(planned.config.sslmode, undefined);
  });

  it('a connection string as the whole config, and discrete options from PGHOST/PGPORT', () => {
    assert.ok(plan('postgresql://app@DB.example.com:5432/orders'));
    const fromEnv = plan({}, { PGHOST: 'db.example.com', PGPORT: '5432' });
    assert.equal(fromEnv?.config.host, 'db.example.com');
    assert.equal(fromEnv?.userGiven, true);
  });

  it("the app's own user is kept; the target's role fills in only when the app names none", () => {
    assert.equal(plan({ host: 'db.example.com', user: 'reporting' })?.config.user, 'reporting');
    const noUser = planClient(
      { host: 'db.example.com' },
      { ...target, user: undefined },
      {},
      pgDefaults,
      parse,
      token,
    );
    assert.equal(noUser?.userGiven, false);
    assert.equal(noUser?.config.user, undefined);
  });

  it('a password of its own (config, URL, PGPASSWORD, pg.defaults, a function) leaves the client alone', () => {
    assert.equal(plan({ host: 'db.example.com', password: 'own' }), undefined);
    assert.equal(plan({ connectionString: 'postgresql://app:own@db.example.com/orders' }), undefined);
    assert.equal(plan({ host: 'db.example.com' }, { PGPASSWORD: 'own' }), undefined);
    assert.equal(
      planClient({ host: 'db.example.com' }, target, {}, { ...pgDefaults, password: 'own' }, parse, token),
      undefined,
    );
    assert.equal(plan({ host: 'db.example.com', password: async () => 'own' }), undefined);
  });

  it("pg.Pool's non-enumerable password counts as the app's own", () => {
    const poolOptions = { host: 'db.example.com' };
    Object.defineProperty(poolOptions, 'password', { value: 'own', enumerable: false });
    assert.equal(plan(poolOptions), undefined);
  });

  it('another host or port is left alone; pg.defaults decide when nothing names one', () => {
    assert.equal(plan({ host: 'localhost' }), undefined);
    assert.equal(plan({ host: 'db.example.com', port: 6432 }), undefined);
    assert.equal(plan({}), undefined);
  });

  it("the app's ssl is kept in a copy of the preload's, the client key (hidden by pg-pool) included", () => {
    const appSsl = { ca: 'APP CA', cert: 'CERT', servername: 'db.internal' };
    Object.defineProperty(appSsl, 'key', { value: 'KEY', enumerable: false });
    const planned = plan({ host: 'db.example.com', ssl: appSsl });
    assert.ok(planned?.ssl);
    assert.notEqual(planned.ssl, appSsl, "the app's object is never changed");
    assert.equal(planned.config.ssl, planned.ssl);
    assert.deepEqual({ ...planned.ssl, key: planned.ssl.key }, { ...appSsl, key: 'KEY' });
  });

  it("the TLS words of the app's connection string are read as pg reads them", () => {
    assert.equal(plan('postgresql://db.example.com/orders?sslmode=disable')?.ssl, false);
    assert.deepEqual(plan('postgresql://db.example.com/orders?sslmode=no-verify')?.ssl, {
      rejectUnauthorized: false,
    });
    assert.deepEqual(plan('postgresql://db.example.com/orders?sslmode=verify-full')?.ssl, {});
    assert.deepEqual(plan({ host: 'db.example.com', ssl: true })?.ssl, {});
  });

  it("no ssl at all: PGSSLMODE is the library's; pg.defaults.ssl counts only when the app set options there", () => {
    const weak = { ...pgDefaults, ssl: { rejectUnauthorized: false } };
    const fromDefaults = planClient({ host: 'db.example.com' }, target, {}, weak, parse, token);
    assert.deepEqual(fromDefaults?.ssl, { rejectUnauthorized: false });
    const modeSet = planClient(
      { host: 'db.example.com' },
      target,
      { PGSSLMODE: 'verify-full' },
      weak,
      parse,
      token,
    );
    assert.deepEqual(modeSet?.ssl, {});
    // pg's own default, `ssl: false`, is no choice of the app's: the library's verify-full applies.
    assert.deepEqual(plan({ host: 'db.example.com' })?.ssl, {});
  });
});
