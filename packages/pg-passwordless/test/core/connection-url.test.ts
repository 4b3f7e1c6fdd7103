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
});
