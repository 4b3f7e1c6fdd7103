// The client side of a login (connectToServer, startTls, loginToServer) and the passthrough after it
// (pipeSession), each against a server the test scripts byte by byte on a loopback socket pair: what
// the client must send is checked to the byte, and what the server sends is written out by hand from
// "Message Formats" in the PostgreSQL docs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import {
  type CertificateSet,
  createCertificates,
} from '../../../pg-passwordless-emulator/src/certificates.ts';
import { connectionScope } from '../../src/wire/connection-scope.ts';
import { connectToServer, loginToServer, pipeSession, startTls } from '../../src/wire/login-client.ts';
import { PacketReader } from '../../src/wire/packet-reader.ts';
import {
  bytes,
  closedPort,
  FAIL_INSTEAD_OF_HANGING,
  hex,
  listenOnLoopback,
  ScriptedPeer,
  socketPair,
  text,
  turn,
} from './scripted-peer.ts';

const SSL_REQUEST = hex('00 00 00 08  04 d2 16 2f');
/** The StartupMessage for { user: 'app', database: 'db' }: length 30, protocol 3.0, the pairs, a NUL. */
const STARTUP = bytes(hex('00 00 00 1e  00 03 00 00'), text('user\0app\0database\0db\0\0'));
const PARAMETERS = { user: 'app', database: 'db' };

const AUTHENTICATION_CLEARTEXT = hex('52  00 00 00 08  00 00 00 03');
const AUTHENTICATION_MD5 = hex('52  00 00 00 0c  00 00 00 05  01 02 03 04');
const AUTHENTICATION_GSS = hex('52  00 00 00 08  00 00 00 07');
const AUTHENTICATION_SASL = bytes(hex('52  00 00 00 17  00 00 00 0a'), text('SCRAM-SHA-256\0\0'));
const PASSWORD_TOKEN_1 = bytes(hex('70  00 00 00 0c'), text('token-1\0'));

const AUTHENTICATION_OK = hex('52  00 00 00 08  00 00 00 00');
const TIME_ZONE = bytes(hex('53  00 00 00 11'), text('TimeZone\0UTC\0'));
const SERVER_VERSION = bytes(hex('53  00 00 00 18'), text('server_version\x0015.8\0'));
/** BackendKeyData: process id 1234, secret key 0a0b0c0d. */
const BACKEND_KEY = hex('4b  00 00 00 0c  00 00 04 d2  0a 0b 0c 0d');
const READY_FOR_QUERY = hex('5a  00 00 00 05  49');
const GREETING = bytes(AUTHENTICATION_OK, TIME_ZONE, SERVER_VERSION, BACKEND_KEY, READY_FOR_QUERY);

/** PostgreSQL 15's refusal of a role that does not exist, with its F, L and R fields. */
const ROLE_MISSING = bytes(
  hex('45  00 00 00 5f'),
  text('SFATAL\0VFATAL\0C28000\0Mrole "app" does not exist\0Fmiscinit.c\0L694\0RInitializeSessionUserId\0\0'),
);
/** PostgreSQL 15's refusal of a wrong password. */
const PASSWORD_FAILED = bytes(
  hex('45  00 00 00 63'),
  text(
    'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "app"\0Fauth.c\0L330\0Rauth_failed\0\0',
  ),
);

describe('connectToServer', FAIL_INSTEAD_OF_HANGING, () => {
  it('connects over TCP to host and port', async () => {
    const server = createServer();
    const port = await listenOnLoopback(server);
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const socket = await connectToServer({ host: '127.0.0.1', port });
    const peer = new ScriptedPeer(await accepted);
    socket.write(SSL_REQUEST);
    assert.deepEqual(await peer.read(8), SSL_REQUEST);
    assert.equal(socket.remotePort, port);
    socket.destroy();
    server.close();
  });

  it('connects to the Unix socket <folder>/.s.PGSQL.<port> when the host is a folder, as libpq does', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'wire-socket-'));
    const server = createServer();
    server.listen(join(folder, '.s.PGSQL.6543'));
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const socket = await connectToServer({ host: folder, port: 6543 });
    const peer = new ScriptedPeer(await accepted);
    socket.write(STARTUP);
    assert.deepEqual(await peer.read(STARTUP.length), STARTUP);
    socket.destroy();
    server.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('rejects with the connect error when nothing listens', async () => {
    await assert.rejects(connectToServer({ host: '127.0.0.1', port: await closedPort() }), {
      code: 'ECONNREFUSED',
    });
  });

  it('puts the socket in the scope at once: a scope already closed ends the attempt', async () => {
    const server = createServer();
    const port = await listenOnLoopback(server);
    const scope = connectionScope();
    scope.closeAll();
    await assert.rejects(connectToServer({ host: '127.0.0.1', port }, scope), {
      message: 'closed before it connected',
    });
    const open = connectionScope();
    const socket = await connectToServer({ host: '127.0.0.1', port }, open);
    open.closeAll();
    assert.equal(socket.destroyed, true);
    server.close();
  });
});

describe('startTls against a scripted server', FAIL_INSTEAD_OF_HANGING, () => {
  let certificates: CertificateSet;
  let secureContext: SecureContext;
  let sockets: Array<{ destroy(): void }> = [];
  before(() => {
    certificates = createCertificates();
    secureContext = createSecureContext({ cert: certificates.serverCertPem, key: certificates.serverKeyPem });
  });
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
  });

  /** A client socket, and the server's side as a scripted peer. */
  async function sslRequested(): Promise<{ client: Socket; server: ScriptedPeer }> {
    const { near, far } = await socketPair();
    sockets.push(near, far);
    return { client: near, server: new ScriptedPeer(far) };
  }

  it('sends SSLRequest, and on S runs a verified TLS handshake on the same socket', async () => {
    const { client, server } = await sslRequested();
    const scope = connectionScope();
    const secure = startTls(client, { ca: certificates.caCertPem, servername: 'localhost' }, scope);
    assert.deepEqual(await server.read(8), SSL_REQUEST);
    assert.deepEqual(server.release(), Buffer.alloc(0));
    server.write('S');
    const serverTls = new ScriptedPeer(new TLSSocket(server.socket, { isServer: true, secureContext }));
    sockets.push(serverTls.socket);
    const tls = await secure;
    assert.equal(tls.authorized, true);
    tls.write(STARTUP);
    assert.deepEqual(await serverTls.read(STARTUP.length), STARTUP);
    scope.closeAll();
    assert.equal(tls.destroyed, true);
  });

  it('rejects with TLS_NOT_OFFERED on N', async () => {
    const { client, server } = await sslRequested();
    const secure = startTls(client, { ca: certificates.caCertPem });
    assert.deepEqual(await server.read(8), SSL_REQUEST);
    server.write('N');
    await assert.rejects(secure, {
      code: 'TLS_NOT_OFFERED',
      message: 'the server does not offer TLS (it answered N to the SSLRequest)',
    });
  });

  it('rejects with NOT_POSTGRES on any other single byte', async () => {
    const { client, server } = await sslRequested();
    const secure = startTls(client, { ca: certificates.caCertPem });
    await server.read(8);
    server.write('H');
    await assert.rejects(secure, {
      code: 'NOT_POSTGRES',
      message: 'not a PostgreSQL server: it answered "H" to the SSLRequest',
    });
  });

  it('rejects an S followed by more bytes: nothing may come in the clear before the handshake', async () => {
    const { client, server } = await sslRequested();
    const secure = startTls(client, { ca: certificates.caCertPem });
    await server.read(8);
    server.write(bytes(text('S'), AUTHENTICATION_OK));
    await assert.rejects(secure, {
      message: 'the server sent more than one byte in answer to the SSLRequest',
    });
  });

  it('rejects when the server closes instead of answering', async () => {
    const { client, server } = await sslRequested();
    const secure = startTls(client, { ca: certificates.caCertPem });
    await server.read(8);
    server.socket.end();
    await assert.rejects(secure, { message: 'the server closed the connection after the SSLRequest' });
  });

  it('rejects a certificate from a CA it was not given, and one for another name', async () => {
    const cases: Array<[object, string]> = [
      [{ servername: 'localhost' }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      [{ ca: certificates.caCertPem, servername: 'db.example.com' }, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ];
    for (const [options, code] of cases) {
      const { client, server } = await sslRequested();
      const secure = startTls(client, options);
      await server.read(8);
      server.release();
      server.write('S');
      const serverTls = new TLSSocket(server.socket, { isServer: true, secureContext });
      serverTls.on('error', () => {});
      sockets.push(serverTls);
      await assert.rejects(secure, { code });
    }
  });
});

describe('loginToServer against a scripted server', FAIL_INSTEAD_OF_HANGING, () => {
  let sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
  });

  /** The client's socket and reader, and the server's peer. */
  async function connection() {
    const { near, far } = await socketPair();
    sockets.push(near, far);
    return { socket: near, reader: new PacketReader(near), server: new ScriptedPeer(far) };
  }

  /** What the client sent after its StartupMessage, once it closes its side. */
  async function sentAfterStartup(client: Socket, server: ScriptedPeer): Promise<Buffer> {
    client.end();
    return server.readToEnd();
  }

  it('sends the StartupMessage, answers the cleartext request with the password, collects the greeting', async () => {
    const { socket, reader, server } = await connection();
    let asked = 0;
    const login = loginToServer(socket, reader, PARAMETERS, () => {
      asked++;
      return 'token-1';
    });
    assert.deepEqual(await server.read(STARTUP.length), STARTUP);
    assert.equal(asked, 0);
    server.write(AUTHENTICATION_CLEARTEXT);
    assert.deepEqual(await server.read(PASSWORD_TOKEN_1.length), PASSWORD_TOKEN_1);
    server.write(GREETING);
    assert.deepEqual(await login, {
      ok: true,
      greeting: GREETING,
      backendKey: hex('00 00 04 d2  0a 0b 0c 0d'),
    });
    assert.equal(asked, 1);
    assert.deepEqual(await sentAfterStartup(socket, server), Buffer.alloc(0));
  });

  it('awaits an asynchronous password, and sends its UTF-8 bytes', async () => {
    const { socket, reader, server } = await connection();
    const login = loginToServer(socket, reader, PARAMETERS, async () => 'tök');
    await server.read(STARTUP.length);
    server.write(AUTHENTICATION_CLEARTEXT);
    assert.deepEqual(await server.read(10), hex('70  00 00 00 09  74 c3 b6 6b 00'));
    server.write(GREETING);
    assert.equal((await login).ok, true);
  });

  it('takes a greeting sent a byte at a time, and one without BackendKeyData', async () => {
    const { socket, reader, server } = await connection();
    const login = loginToServer(socket, reader, PARAMETERS);
    await server.read(STARTUP.length);
    const greeting = bytes(AUTHENTICATION_OK, TIME_ZONE, READY_FOR_QUERY);
    for (const byte of greeting) {
      server.write(Buffer.from([byte]));
      await turn();
    }
    assert.deepEqual(await login, { ok: true, greeting, backendKey: undefined });
  });

  it('returns the ErrorResponse of a refused startup, framed as sent, with its fields', async () => {
    assert.equal(ROLE_MISSING.length, 1 + 0x5f);
    const { socket, reader, server } = await connection();
    const login = loginToServer(socket, reader, PARAMETERS, () => 'token-1');
    await server.read(STARTUP.length);
    server.write(ROLE_MISSING);
    assert.deepEqual(await login, {
      ok: false,
      kind: 'refused',
      error: ROLE_MISSING,
      fields: {
        S: 'FATAL',
        V: 'FATAL',
        C: '28000',
        M: 'role "app" does not exist',
        F: 'miscinit.c',
        L: '694',
        R: 'InitializeSessionUserId',
      },
    });
    assert.deepEqual(await sentAfterStartup(socket, server), Buffer.alloc(0));
  });

  it('returns the ErrorResponse that answers the password', async () => {
    assert.equal(PASSWORD_FAILED.length, 1 + 0x63);
    const { socket, reader, server } = await connection();
    const login = loginToServer(socket, reader, PARAMETERS, () => 'token-1');
    await server.read(STARTUP.length);
    server.write(AUTHENTICATION_CLEARTEXT);
    await server.read(PASSWORD_TOKEN_1.length);
    server.write(PASSWORD_FAILED);
    const result = await login;
    assert.deepEqual(result.ok === false && result.kind === 'refused' && [result.error, result.fields.C], [
      PASSWORD_FAILED,
      '28P01',
    ]);
  });

  it('stops at an authentication request other than cleartext, and sends nothing to it', async () => {
    const cases: Array<[Buffer, number]> = [
      [AUTHENTICATION_MD5, 5],
      [AUTHENTICATION_GSS, 7],
      [AUTHENTICATION_SASL, 10],
    ];
    for (const [request, method] of cases) {
      const { socket, reader, server } = await connection();
      const login = loginToServer(socket, reader, PARAMETERS, () => 'token-1');
      await server.read(STARTUP.length);
      server.write(request);
      assert.deepEqual(await login, { ok: false, kind: 'authentication', method });
      assert.deepEqual(await sentAfterStartup(socket, server), Buffer.alloc(0), `method ${method}`);
    }
  });

  it('stops at a cleartext request when it has no password to give', async () => {
    const { socket, reader, server } = await connection();
    const login = loginToServer(socket, reader, PARAMETERS);
    await server.read(STARTUP.length);
    server.write(AUTHENTICATION_CLEARTEXT);
    assert.deepEqual(await login, { ok: false, kind: 'authentication', method: 3 });
    assert.deepEqual(await sentAfterStartup(socket, server), Buffer.alloc(0));
  });

  it('rejects a NegotiateProtocolVersion: it asked for 3.0 and no option, so none is due', async () => {
    const answers = [
      hex('76  00 00 00 0c  00 03 00 00  00 00 00 00'),
      bytes(hex('76  00 00 00 17  00 03 00 00  00 00 00 01'), text('_pq_.other\0')),
    ];
    for (const answer of answers) {
      const { socket, reader, server } = await connection();
      const login = loginToServer(socket, reader, PARAMETERS, () => 'token-1');
      await server.read(STARTUP.length);
      server.write(bytes(answer, GREETING));
      await assert.rejects(login, {
        message:
          'the server answered NegotiateProtocolVersion to a StartupMessage for protocol 3.0 without options',
      });
    }
  });

  it('rejects when the server closes mid-login, or sends a message longer than 1 MiB', async () => {
    const closing = await connection();
    const cut = loginToServer(closing.socket, closing.reader, PARAMETERS);
    await closing.server.read(STARTUP.length);
    closing.server.socket.end(bytes(AUTHENTICATION_OK, TIME_ZONE.subarray(0, 7)));
    await assert.rejects(cut, { message: 'the peer closed the connection' });

    const flooding = await connection();
    const flood = loginToServer(flooding.socket, flooding.reader, PARAMETERS);
    await flooding.server.read(STARTUP.length);
    // A NoticeResponse claiming 1 MiB + 1 bytes: refused on its header.
    flooding.server.write(hex('4e  00 10 00 01'));
    await assert.rejects(flood, { name: 'PacketLengthError', message: 'invalid message length (1048577)' });
  });
});

describe('pipeSession', FAIL_INSTEAD_OF_HANGING, () => {
  const QUERY = bytes(hex('51  00 00 00 0d'), text('SELECT 1\0'));
  const NOTICE = bytes(hex('4e  00 00 00 14'), text('SNOTICE\0Mhello\0\0'));
  const sockets: Socket[] = [];
  after(() => {
    for (const socket of sockets) socket.destroy();
  });

  /** A client app and a backend, with the proxy's two sockets between them, each with a reader. */
  async function session() {
    const front = await socketPair();
    const back = await socketPair();
    sockets.push(front.near, front.far, back.near, back.far);
    return {
      app: new ScriptedPeer(front.near),
      client: front.far,
      clientReader: new PacketReader(front.far),
      server: back.near,
      serverReader: new PacketReader(back.near),
      backend: new ScriptedPeer(back.far),
    };
  }

  it('writes the greeting first, then what each side sent ahead, then passes bytes both ways', async () => {
    assert.equal(NOTICE.length, 1 + 0x14);
    const { app, client, clientReader, server, serverReader, backend } = await session();
    // Sent ahead of the session: a pipelined query, and a notice from the backend.
    app.write(QUERY);
    backend.write(NOTICE);
    while (clientReader.buffered < QUERY.length || serverReader.buffered < NOTICE.length) await turn();
    pipeSession({ client, clientReader, server, serverReader, greeting: GREETING });
    assert.deepEqual(await app.read(GREETING.length + NOTICE.length), bytes(GREETING, NOTICE));
    assert.deepEqual(await backend.read(QUERY.length), QUERY);
    backend.write(READY_FOR_QUERY);
    assert.deepEqual(await app.read(6), READY_FOR_QUERY);
    app.write(hex('58  00 00 00 04'));
    assert.deepEqual(await backend.read(5), hex('58  00 00 00 04'));
    assert.equal(app.pending + backend.pending, 0);
  });

  it('closes the client when the server closes, after its last bytes', async () => {
    const { app, client, clientReader, server, serverReader, backend } = await session();
    pipeSession({ client, clientReader, server, serverReader, greeting: READY_FOR_QUERY });
    backend.socket.end(PASSWORD_FAILED);
    assert.deepEqual(await app.readToEnd(), bytes(READY_FOR_QUERY, PASSWORD_FAILED));
  });

  it('closes the server when the client closes', async () => {
    const { app, client, clientReader, server, serverReader, backend } = await session();
    pipeSession({ client, clientReader, server, serverReader, greeting: READY_FOR_QUERY });
    assert.deepEqual(await app.read(6), READY_FOR_QUERY);
    app.socket.end(hex('58  00 00 00 04'));
    assert.deepEqual(await backend.readToEnd(), hex('58  00 00 00 04'));
  });
});
