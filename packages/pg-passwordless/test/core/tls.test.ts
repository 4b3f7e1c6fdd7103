import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConnectionUrl } from '../../src/core/connection-url.ts';
import { buildTlsOptions } from '../../src/core/tls.ts';

const target = (query = '') =>
  parseConnectionUrl(`postgresql://u@srv.postgres.database.azure.com/db${query}`, {});

describe('buildTlsOptions', () => {
  it('verifies the certificate and host name by default, against the system store', () => {
    assert.deepEqual(buildTlsOptions(target(), {}, {}), { rejectUnauthorized: true });
  });

  it('trusts PGSSLROOTCERT, the URL sslrootcert, or an explicit ca, in reverse order of precedence', () => {
    const read = (path: string) => Buffer.from(`pem from ${path}`);
    const fromEnv = buildTlsOptions(target(), {}, { PGSSLROOTCERT: '/env.pem' }, read) as { ca: Buffer };
    assert.equal(String(fromEnv.ca), 'pem from /env.pem');
    const fromUrl = buildTlsOptions(
      target('?sslrootcert=/url.pem'),
      {},
      { PGSSLROOTCERT: '/env.pem' },
      read,
    ) as { ca: Buffer };
    assert.equal(String(fromUrl.ca), 'pem from /url.pem');
    const explicit = buildTlsOptions(target('?sslrootcert=/url.pem'), { ca: 'explicit' }, {}, read) as {
      ca: string;
    };
    assert.equal(explicit.ca, 'explicit');
  });

  it('refuses modes that do not verify the server unless insecure is allowed explicitly', () => {
    for (const mode of ['disable', 'prefer', 'require', 'no-verify']) {
      assert.throws(() => buildTlsOptions(target(`?sslmode=${mode}`), {}, {}), { code: 'TLS_REQUIRED' });
    }
    assert.equal(buildTlsOptions(target('?sslmode=disable'), { allowInsecure: true }, {}), false);
    assert.deepEqual(buildTlsOptions(target(), { allowInsecure: true }, { PGSSLMODE: 'require' }), {
      rejectUnauthorized: false,
    });
  });

  it('checks the chain but not the name for verify-ca', () => {
    const tls = buildTlsOptions(target('?sslmode=verify-ca'), {}, {}) as {
      rejectUnauthorized: boolean;
      checkServerIdentity: () => unknown;
    };
    assert.equal(tls.rejectUnauthorized, true);
    assert.equal(tls.checkServerIdentity(), undefined);
  });

  it('names an unreadable CA file', () => {
    assert.throws(() => buildTlsOptions(target(), { caFile: '/nope/ca.pem' }, {}), {
      code: 'CONFIG_INVALID',
      message: /\/nope\/ca.pem/,
    });
  });
});
