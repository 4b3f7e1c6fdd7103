import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConnectionUrl, redactUrl } from '../../src/core/connection-url.ts';

describe('parseConnectionUrl', () => {
  it('reads host, port, database and an encoded user', () => {
    const target = parseConnectionUrl(
      'postgresql://dev%40contoso.com@srv.postgres.database.azure.com:6432/orders?sslmode=verify-full',
      {},
    );
    assert.deepEqual(target, {
      host: 'srv.postgres.database.azure.com',
      port: 6432,
      database: 'orders',
      user: 'dev@contoso.com',
      params: { sslmode: 'verify-full' },
    });
  });

  it('accepts the postgresql+driver:// form and fills gaps from PG* variables', () => {
    const target = parseConnectionUrl('postgresql+asyncpg://srv.example.com', {
      PGUSER: 'app',
      PGDATABASE: 'db',
      PGPORT: '5433',
    });
    assert.equal(target.user, 'app');
    assert.equal(target.database, 'db');
    assert.equal(target.port, 5433);
  });

  it('builds everything from the environment for an empty URL', () => {
    assert.equal(parseConnectionUrl('', { PGHOST: 'h', PGUSER: 'u' }).host, 'h');
    assert.throws(() => parseConnectionUrl('', {}), { code: 'URL_INVALID' });
  });

  it('rejects malformed URLs without printing a password', () => {
    assert.throws(() => parseConnectionUrl('mysql://u@h/db', {}), { code: 'URL_INVALID' });
    assert.throws(() => parseConnectionUrl('postgresql://u@h:99999/db', {}), {
      code: 'URL_INVALID',
      message: /99999/,
    });
    assert.throws(
      () => parseConnectionUrl('postgresql://u:s3cret@h:port/db', {}),
      (error: Error) =>
        !error.message.includes('s3cret') &&
        /URL_INVALID|not a valid URL/.test(`${(error as { code?: string }).code} ${error.message}`),
    );
  });

  it('redacts passwords in URLs', () => {
    assert.equal(redactUrl('postgresql://u:eyJ0eXAi@h/db'), 'postgresql://u:***@h/db');
    assert.equal(redactUrl('postgresql://u@h/db'), 'postgresql://u@h/db');
  });

  it('keeps no password among the parameters, and a __proto__ parameter as a parameter', () => {
    const target = parseConnectionUrl('postgresql://db/x?user=app&password=s3cret&__proto__=p', {});
    assert.equal(target.user, 'app');
    assert.equal(Object.hasOwn(target.params, 'password'), false);
    assert.equal(Object.hasOwn(target.params, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(target.params), Object.prototype);
  });
});

describe('parseConnectionUrl: libpq key/value strings', () => {
  it('reads the string a cloud portal shows (Azure), the password dropped', () => {
    const target = parseConnectionUrl(
      'host=srv.postgres.database.azure.com port=5432 dbname=postgres user=orders-api password={your_password} sslmode=require',
      {},
    );
    assert.deepEqual(target, {
      host: 'srv.postgres.database.azure.com',
      port: 5432,
      database: 'postgres',
      user: 'orders-api',
      params: { sslmode: 'require' },
    });
  });

  it('takes quoted values, escapes and blanks around "=", as libpq does', () => {
    const target = parseConnectionUrl(
      String.raw`host = db.example.com  dbname='my orders' user=dev@contoso.com sslrootcert='/etc/my certs/ca.pem' application_name=it\'s`,
      {},
    );
    assert.equal(target.host, 'db.example.com');
    assert.equal(target.database, 'my orders');
    assert.equal(target.user, 'dev@contoso.com');
    assert.deepEqual(target.params, { sslrootcert: '/etc/my certs/ca.pem', application_name: "it's" });
  });

  it('keeps keywords it does not know as params, like a URL keeps its query parameters', () => {
    const target = parseConnectionUrl('host=h connect_timeout=10 my_option=x __proto__=p', {});
    assert.deepEqual({ ...target.params }, { connect_timeout: '10', my_option: 'x', ['__proto__']: 'p' });
    assert.equal(Object.hasOwn(target.params, '__proto__'), true);
    assert.equal(Object.getPrototypeOf(target.params), Object.prototype);
  });

  it('fills what is left out (or empty) from PGHOST, PGPORT, PGUSER and PGDATABASE', () => {
    const env = { PGHOST: 'envhost', PGPORT: '6432', PGUSER: 'envuser', PGDATABASE: 'envdb' };
    assert.deepEqual(parseConnectionUrl('sslmode=verify-full', env), {
      host: 'envhost',
      port: 6432,
      database: 'envdb',
      user: 'envuser',
      params: { sslmode: 'verify-full' },
    });
    assert.equal(parseConnectionUrl("host='' user=app", env).host, 'envhost');
    assert.equal(parseConnectionUrl('host=h user=app', env).user, 'app');
    assert.throws(() => parseConnectionUrl('user=app', {}), {
      code: 'URL_INVALID',
      message: /No host: neither the key\/value connection string nor PGHOST names one/,
    });
  });

  it('tells the forms apart as libpq does: a scheme and "://" make a URL, anything else is key/value', () => {
    assert.equal(parseConnectionUrl('postgres://h/db', {}).database, 'db');
    assert.equal(parseConnectionUrl('  postgresql+asyncpg://h/db', {}).database, 'db');
    assert.equal(parseConnectionUrl('dbname=postgresql://h/db host=h', {}).database, 'postgresql://h/db');
    assert.throws(() => parseConnectionUrl('mysql://u@h/db', {}), {
      code: 'URL_INVALID',
      message: /scheme "mysql:"/,
    });
    assert.throws(() => parseConnectionUrl('db.example.com', {}), {
      code: 'URL_INVALID',
      message: /neither a postgresql:\/\/ URL nor valid keyword=value pairs: its first word has no "="/,
    });
  });

  it('checks the port as in a URL', () => {
    assert.equal(parseConnectionUrl('host=h port=6432', {}).port, 6432);
    assert.throws(() => parseConnectionUrl('host=h port=99999', {}), {
      code: 'URL_INVALID',
      message: /99999/,
    });
  });

  it('refuses a malformed string without printing its password', () => {
    for (const text of [
      "host=h user=app password='S3cret",
      'host=h user=app password=two S3cret',
      'host= password=S3cret user=app',
      'S3cret',
    ]) {
      assert.throws(
        () => parseConnectionUrl(text, { PGHOST: 'h' }),
        (error: Error & { code?: string }) =>
          error.code === 'URL_INVALID' && !`${error.message} ${error.stack}`.includes('S3cret'),
        text,
      );
    }
  });
});

describe('parseConnectionUrl: hostaddr', () => {
  it('connects to hostaddr when no host is named, or when it is the host itself', () => {
    assert.equal(parseConnectionUrl('hostaddr=10.1.2.3 user=app', {}).host, '10.1.2.3');
    assert.equal(parseConnectionUrl('host=10.1.2.3 hostaddr=10.1.2.3', {}).host, '10.1.2.3');
    assert.equal(parseConnectionUrl('postgresql:///db?user=app&hostaddr=10.1.2.3', {}).host, '10.1.2.3');
    assert.deepEqual(parseConnectionUrl('hostaddr=10.1.2.3 sslmode=verify-ca', {}).params, {
      sslmode: 'verify-ca',
    });
  });

  it('refuses a hostaddr other than the host (libpq would check the certificate against host), in both forms', () => {
    const refused = {
      code: 'URL_INVALID',
      message: /hostaddr "10\.1\.2\.3" is not host "db\.example\.com"/,
      hint: /\/etc\/hosts/,
    };
    assert.throws(() => parseConnectionUrl('host=db.example.com hostaddr=10.1.2.3', {}), refused);
    assert.throws(
      () => parseConnectionUrl('postgresql://app@db.example.com/db?hostaddr=10.1.2.3', {}),
      refused,
    );
    assert.throws(() => parseConnectionUrl('hostaddr=10.1.2.3', { PGHOST: 'db.example.com' }), refused);
  });
});

describe('redactUrl: every form of a password', () => {
  const cases: Array<[string, string]> = [
    ['postgresql://app:S3cret@db/orders', 'postgresql://app:***@db/orders'],
    ['postgresql://db/orders?user=app&password=S3cret', 'postgresql://db/orders?user=app&password=***'],
    ['postgresql://db/orders?sslpassword=S3cret&user=app', 'postgresql://db/orders?sslpassword=***&user=app'],
    ['host=db user=app password=S3cret', 'host=db user=app password=***'],
    ["host=db password = 'S3cret with spaces' user=app", 'host=db password = *** user=app'],
    [String.raw`host=db password='it\'s S3cret' user=app`, 'host=db password=*** user=app'],
    ["host=db password='S3cret", 'host=db password=***'],
    ['host=db dbname=orders', 'host=db dbname=orders'],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(redactUrl(text), expected);
    });
  }
});
