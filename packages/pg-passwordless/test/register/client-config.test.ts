import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'pg-connection-string';
import { parseConnectionUrl } from '../../src/core/connection-url.ts';
import { planClient } from '../../src/register/client-config.ts';

const target = parseConnectionUrl('postgresql://orders-api@db.example.com:5432/orders', {});
const pgDefaults = { host: 'localhost', port: 5432, password: null };
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

  it("the app's ssl: only its CA is kept, never a weaker verification", () => {
    const planned = plan({ host: 'db.example.com', ssl: { ca: 'PEM', rejectUnauthorized: false } });
    assert.equal(planned?.appCa, 'PEM');
    assert.deepEqual(planned?.ssl, {});
  });
});
