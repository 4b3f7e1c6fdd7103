import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { type AddressInfo, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type ConnectionOptions,
  createServer,
  type PeerCertificate,
  type Server,
  connect as tlsConnect,
} from 'node:tls';
import { createCertificates } from '../../../pg-passwordless-emulator/src/certificates.ts';
import { parseConnectionUrl } from '../../src/core/connection-url.ts';
import { buildTlsOptions, resolveTls } from '../../src/core/tls.ts';

const target = (query = '', host = 'srv.postgres.database.azure.com') =>
  parseConnectionUrl(`postgresql://u@${host}/db${query}`, {});
const read = (path: string) => Buffer.from(`pem from ${path}`);

describe('buildTlsOptions', () => {
  it('verifies the certificate and host name by default, against the system store', () => {
    assert.deepEqual(buildTlsOptions(target(), {}, {}), { rejectUnauthorized: true });
  });

  it('trusts PGSSLROOTCERT, the URL sslrootcert, or an explicit ca, in reverse order of precedence', () => {
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

  it('the refusal tells a CLI user what they can do: verify-full with the server’s CA, not an option only code reaches', () => {
    try {
      buildTlsOptions(target(), {}, { PGSSLMODE: 'require' });
      assert.fail('sslmode=require was accepted');
    } catch (error) {
      const { code, hint } = error as { code: string; hint: string };
      assert.equal(code, 'TLS_REQUIRED');
      assert.match(hint, /^Use sslmode=verify-full/);
      assert.match(hint, /sslrootcert=<file> or PGSSLROOTCERT=<file>/);
      assert.match(hint, /tls\.allowInsecure, an option in code, is for a local emulator on loopback only/);
    }
  });

  it('names an unreadable CA file', () => {
    assert.throws(() => buildTlsOptions(target(), { caFile: '/nope/ca.pem' }, {}), {
      code: 'CONFIG_INVALID',
      message: /\/nope\/ca.pem/,
    });
  });
});

describe('verify-ca: only with a CA the user named or the cloud’s own', () => {
  const verifyCa = target('?sslmode=verify-ca');

  for (const [what, run] of [
    ['no CA named (the system store)', () => resolveTls(verifyCa, {}, {})],
    ['PGSSLMODE=verify-ca, no CA named', () => resolveTls(target(), {}, { PGSSLMODE: 'verify-ca' })],
    ['sslrootcert=system', () => resolveTls(target('?sslmode=verify-ca&sslrootcert=system'), {}, {}, read)],
    ['PGSSLROOTCERT=system', () => resolveTls(verifyCa, {}, { PGSSLROOTCERT: 'system' }, read)],
    [
      'sslrootcert=system, even with the cloud’s CA at hand (system names the public roots)',
      () =>
        resolveTls(target('?sslmode=verify-ca&sslrootcert=system'), {}, {}, read, {
          pem: 'RDS bundle',
          label: 'the RDS CA bundle',
        }),
    ],
    [
      'allowInsecure (it is for the modes that verify nothing)',
      () => resolveTls(verifyCa, { allowInsecure: true }, {}),
    ],
  ] as const) {
    it(`refused with ${what}: TLS_REQUIRED says why and what to do`, () => {
      assert.throws(run, (error: { code: string; message: string; hint: string }) => {
        assert.equal(error.code, 'TLS_REQUIRED');
        assert.match(error.message, /any server that holds a publicly trusted certificate for any name/);
        assert.match(error.hint, /sslmode=verify-full/);
        assert.match(
          error.hint,
          /name the server’s own CA file with sslrootcert=<file> or PGSSLROOTCERT=<file>/,
        );
        return true;
      });
    });
  }

  it('the refusal says which setting asked for the public roots', () => {
    assert.throws(() => resolveTls(target('?sslmode=verify-ca&sslrootcert=system'), {}, {}), {
      message: /^sslmode=verify-ca with sslrootcert=system \(the public roots/,
    });
    assert.throws(() => resolveTls(verifyCa, {}, {}), {
      message:
        /^sslmode=verify-ca with the system trust store \(no sslrootcert, PGSSLROOTCERT or tls\.caFile names a CA\)/,
    });
  });

  it('allowed with a CA the user named, or the cloud’s own; the chain is checked, the name is not', () => {
    const cases = [
      [resolveTls(verifyCa, { ca: 'PEM in code' }, {}), { from: 'tls.ca', pem: 'PEM in code' }],
      [resolveTls(verifyCa, { caFile: '/ca.pem' }, {}, read), { from: 'tls.caFile', file: '/ca.pem' }],
      [
        resolveTls(target('?sslmode=verify-ca&sslrootcert=/server-ca.pem'), {}, {}, read),
        { from: 'sslrootcert', file: '/server-ca.pem' },
      ],
      [
        resolveTls(verifyCa, {}, { PGSSLROOTCERT: '/env.pem' }, read),
        { from: 'PGSSLROOTCERT', file: '/env.pem' },
      ],
      [
        resolveTls(verifyCa, {}, {}, read, { pem: ['RDS root 1', 'RDS root 2'], label: 'the RDS CA bundle' }),
        { from: 'cloud', pem: 'RDS root 1\nRDS root 2', label: 'the RDS CA bundle' },
      ],
    ] as const;
    for (const [resolved, ca] of cases) {
      assert.equal(resolved.sslmode, 'verify-ca');
      assert.deepEqual(resolved.ca, ca);
      const options = resolved.options as ConnectionOptions;
      assert.equal(options.rejectUnauthorized, true);
      assert.notEqual(options.ca, undefined, 'the named CA is the one trusted');
      assert.equal(options.checkServerIdentity?.('any.example.com', {} as PeerCertificate), undefined);
    }
  });

  it('sslrootcert=system is fine with verify-full: the system store, not the cloud’s CA', () => {
    const resolved = resolveTls(target('?sslrootcert=system'), {}, {}, read, {
      pem: 'RDS bundle',
      label: 'the RDS CA bundle',
    });
    assert.deepEqual(resolved.ca, { from: 'system' });
    assert.deepEqual(resolved.options, { rejectUnauthorized: true });
  });

  it('says where the CA comes from for verify-full, and that nothing is verified below it', () => {
    assert.deepEqual(resolveTls(target(), {}, {}).ca, { from: 'system' });
    assert.deepEqual(
      resolveTls(target(), {}, {}, read, { pem: 'RDS bundle', label: 'the RDS CA bundle' }).ca,
      {
        from: 'cloud',
        pem: 'RDS bundle',
        label: 'the RDS CA bundle',
      },
    );
    const insecure = resolveTls(target('?sslmode=require'), { allowInsecure: true }, {});
    assert.deepEqual(
      { sslmode: insecure.sslmode, ca: insecure.ca },
      { sslmode: 'require', ca: { from: 'none' } },
    );
  });
});

describe('an IP target is checked against the certificate’s IP entries', () => {
  /** What Node hands checkServerIdentity: the certificate in its legacy object form. */
  const peer = (names: string[]) =>
    new X509Certificate(createCertificates([], names).serverCertPem).toLegacyObject() as PeerCertificate;

  /** Node's verdict with the options' check, as the driver passes "localhost" for an IP: 'ok' or the code. */
  const verdict = (host: string, names: string[]) => {
    const options = buildTlsOptions(target('', host), {}, {}) as ConnectionOptions;
    const error = options.checkServerIdentity?.('localhost', peer(names)) as
      | NodeJS.ErrnoException
      | undefined;
    return error ? error.code : 'ok';
  };

  it('verify-full binds the check to the address, whatever name the driver passes (Node falls back to "localhost")', () => {
    assert.equal(verdict('10.20.0.3', ['10.20.0.3']), 'ok');
    assert.equal(verdict('10.20.0.3', ['localhost']), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(verdict('10.20.0.3', ['10.20.0.9', 'localhost']), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(verdict('[fd00::3]', ['fd00::3']), 'ok');
    assert.equal(verdict('[fd00::3]', ['fd00::4']), 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a name is left to the driver, which sends it as SNI and checks it', () => {
    assert.equal((buildTlsOptions(target(), {}, {}) as ConnectionOptions).checkServerIdentity, undefined);
  });

  describe('a real handshake with the options alone (a socket and no host: postgres.js, older pg)', () => {
    const certificates = createCertificates([], ['localhost']);
    let server: Server;
    let port: number;
    before(async () => {
      server = createServer({ cert: certificates.serverCertPem, key: certificates.serverKeyPem }, (socket) =>
        socket.end(),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** The handshake's outcome: 'ok', or Node's error code. */
    async function handshake(options: ConnectionOptions): Promise<string> {
      const socket = tcpConnect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      return new Promise((resolve) => {
        const secure = tlsConnect({ ...options, socket });
        secure.once('secureConnect', () => {
          secure.destroy();
          resolve('ok');
        });
        secure.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
      });
    }

    it('a certificate for "localhost" only does not pass for 127.0.0.1', async () => {
      const options = buildTlsOptions(target('', '127.0.0.1'), { ca: certificates.caCertPem }, {});
      assert.equal(await handshake(options as ConnectionOptions), 'ERR_TLS_CERT_ALTNAME_INVALID');
      // Without the bound check, Node checks "localhost" and this certificate would pass.
      assert.equal(await handshake({ ca: certificates.caCertPem, rejectUnauthorized: true }), 'ok');
    });
  });
});
