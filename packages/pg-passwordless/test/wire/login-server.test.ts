// The server side of a login (serveLogin, acceptStartup, readPassword, refusal) against a client the test
// scripts byte by byte over loopback TCP: the client writes exact bytes, and everything the server
// answers until it closes is compared with the bytes PostgreSQL sends, spelled out from "Message
// Formats" (an ErrorResponse: 'E', its length, then S, V, C, M, [H] fields, each NUL-terminated, and a
// final NUL).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { createSecureContext, type SecureContext, TLSSocket, connect as tlsConnect } from 'node:tls';
import {
  type CertificateSet,
  createCertificates,
} from '../../../pg-passwordless-emulator/src/certificates.ts';
import { endThenDestroy } from '../../src/wire/connection-scope.ts';
import {
  type AcceptedStartup,
  acceptStartup,
  type ClientConnection,
  type LoginOutcome,
  LoginRefusal,
  readPassword,
  refusal,
  type ServeLoginOptions,
  serveLogin,
} from '../../src/wire/login-server.ts';
import { authenticationCleartextPassword } from '../../src/wire/messages.ts';
import {
  bytes,
  FAIL_INSTEAD_OF_HANGING,
  hex,
  listenOnLoopback,
  ScriptedPeer,
  text,
} from './scripted-peer.ts';

const SSL_REQUEST = hex('00 00 00 08  04 d2 16 2f');
const GSSENC_REQUEST = hex('00 00 00 08  04 d2 16 30');
const STARTUP = bytes(hex('00 00 00 1e  00 03 00 00'), text('user\0app\0database\0db\0\0'));
const AUTHENTICATION_CLEARTEXT = hex('52  00 00 00 08  00 00 00 03');
const PASSWORD_TOKEN_1 = bytes(hex('70  00 00 00 0c'), text('token-1\0'));

/** The ErrorResponse head every FATAL here starts with: S and V fields. */
const FATAL = text('SFATAL\0VFATAL\0');
/** What the test's login answers once it has what it wanted: 28000 "not welcome". */
const NOT_WELCOME = bytes(hex('45  00 00 00 27'), FATAL, text('C28000\0Mnot welcome\0\0'));
const SECOND_SSL_REQUEST = bytes(
  hex('45  00 00 00 5f'),
  FATAL,
  text('C0A000\0Munsupported frontend protocol 1234.5679: server supports 3.0 to 3.0\0\0'),
);
const SECOND_GSSENC_REQUEST = bytes(
  hex('45  00 00 00 5f'),
  FATAL,
  text('C0A000\0Munsupported frontend protocol 1234.5680: server supports 3.0 to 3.0\0\0'),
);
const STARTUP_FOR_MAJOR_2 = bytes(
  hex('45  00 00 00 59'),
  FATAL,
  text('C0A000\0Munsupported frontend protocol 2.0: server supports 3.0 to 3.0\0\0'),
);
const NO_USER = bytes(
  hex('45  00 00 00 4f'),
  FATAL,
  text('C28000\0Mno PostgreSQL user name specified in startup packet\0\0'),
);
const NO_TERMINATOR = bytes(
  hex('45  00 00 00 5b'),
  FATAL,
  text('C08P01\0Minvalid startup packet layout: expected terminator as last byte\0\0'),
);
const UNENCRYPTED_AFTER_SSL_REQUEST = bytes(
  hex('45  00 00 00 47'),
  FATAL,
  text('C08P01\0Mreceived unencrypted data after SSL request\0\0'),
);
const NEGOTIATE_3_0 = hex('76  00 00 00 0c  00 03 00 00  00 00 00 00');

/** One login served: what the login saw and how serveLogin counted it. */
interface Served {
  accepted: AcceptedStartup[];
  passwords: string[];
  outcomes: LoginOutcome[];
  tracked: Duplex[];
  /** serveLogin's promise, once a connection came in. */
  finished: Promise<void>;
}

type Login = (connection: ClientConnection, served: Served) => Promise<void>;

/** acceptStartup, then the test's refusal; a CancelRequest is closed without a word, as the gateway does. */
function startupThenRefuse(secureContext?: SecureContext): Login {
  return async (connection, served) => {
    const startup = await acceptStartup(connection, { secureContext });
    served.accepted.push(startup);
    if (startup.kind === 'cancel') return endThenDestroy(connection.client);
    throw refusal('28000', 'not welcome', 'loginsRejected');
  };
}

/** acceptStartup, a cleartext password request, readPassword (at most 16 bytes), then the refusal. */
const passwordThenRefuse: Login = async (connection, served) => {
  served.accepted.push(await acceptStartup(connection, {}));
  connection.client.write(authenticationCleartextPassword());
  served.passwords.push(await readPassword(connection.reader, 16));
  throw refusal('28000', 'not welcome', 'loginsRejected');
};

describe(
  'serveLogin, acceptStartup and readPassword against a scripted client',
  FAIL_INSTEAD_OF_HANGING,
  () => {
    let certificates: CertificateSet;
    let secureContext: SecureContext;
    const servers: Server[] = [];
    let clients: Duplex[] = [];
    before(() => {
      certificates = createCertificates();
      secureContext = createSecureContext({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
      });
    });
    afterEach(() => {
      for (const client of clients) client.destroy();
      clients = [];
    });
    after(() => {
      for (const server of servers) server.close();
    });

    /** Serves one connection with `login`; returns the scripted client connected to it. */
    async function serve(
      login: Login,
      options: Partial<ServeLoginOptions> = {},
    ): Promise<{ client: ScriptedPeer; served: Served }> {
      const served: Served = {
        accepted: [],
        passwords: [],
        outcomes: [],
        tracked: [],
        finished: Promise.resolve(),
      };
      let started: () => void = () => {};
      const connected = new Promise<void>((resolve) => {
        started = resolve;
      });
      const server = createServer((raw) => {
        served.finished = serveLogin(
          raw,
          {
            handshakeTimeoutMs: 10_000,
            largestPacket: 10_000,
            track: (socket) => served.tracked.push(socket),
            count: (outcome) => served.outcomes.push(outcome),
            ...options,
          },
          (connection) => login(connection, served),
        );
        started();
      });
      servers.push(server);
      const port = await listenOnLoopback(server);
      const socket = netConnect(port, '127.0.0.1');
      socket.setNoDelay(true);
      clients.push(socket);
      await connected;
      return { client: new ScriptedPeer(socket), served };
    }

    /** Upgrades the client to TLS after the server's 'S', verifying the server as libpq's verify-full does. */
    async function clientTls(client: ScriptedPeer): Promise<ScriptedPeer> {
      assert.deepEqual(client.release(), Buffer.alloc(0));
      const secure = tlsConnect({
        socket: client.socket,
        ca: certificates.caCertPem,
        servername: 'localhost',
      });
      clients.push(secure);
      await once(secure, 'secureConnect');
      return new ScriptedPeer(secure);
    }

    describe('the first packets', () => {
      it('answers SSLRequest with N when it has no TLS, then reads the StartupMessage', async () => {
        const { client, served } = await serve(startupThenRefuse());
        client.write(SSL_REQUEST);
        assert.deepEqual(await client.read(1), text('N'));
        client.write(STARTUP);
        assert.deepEqual(await client.readToEnd(), NOT_WELCOME);
        await served.finished;
        assert.deepEqual(served.accepted, [
          { kind: 'startup', parameters: { user: 'app', database: 'db' }, raw: STARTUP, encrypted: false },
        ]);
        assert.deepEqual(served.outcomes, ['loginsRejected']);
      });

      it('answers GSSENCRequest with N, then SSLRequest with N, all sent in one chunk with the StartupMessage', async () => {
        const { client, served } = await serve(startupThenRefuse());
        client.write(bytes(GSSENC_REQUEST, SSL_REQUEST, STARTUP));
        assert.deepEqual(await client.readToEnd(), bytes(text('NN'), NOT_WELCOME));
        assert.equal(served.accepted[0]?.kind, 'startup');
      });

      it('refuses a second SSLRequest, and a second GSSENCRequest, as PostgreSQL does (0A000)', async () => {
        const cases: Array<[Buffer, Buffer]> = [
          [bytes(SSL_REQUEST, SSL_REQUEST), bytes(text('N'), SECOND_SSL_REQUEST)],
          [bytes(GSSENC_REQUEST, SSL_REQUEST, GSSENC_REQUEST), bytes(text('NN'), SECOND_GSSENC_REQUEST)],
        ];
        for (const [sent, answer] of cases) {
          const { client, served } = await serve(startupThenRefuse());
          client.write(sent);
          assert.deepEqual(await client.readToEnd(), answer);
          await served.finished;
          assert.deepEqual([served.accepted, served.outcomes], [[], ['protocolErrors']]);
        }
      });

      it('answers SSLRequest with S and TLS when it has a context, and reads the StartupMessage over TLS', async () => {
        const { client, served } = await serve(startupThenRefuse(secureContext));
        client.write(SSL_REQUEST);
        assert.deepEqual(await client.read(1), text('S'));
        const secure = await clientTls(client);
        secure.write(STARTUP);
        assert.deepEqual(await secure.readToEnd(), NOT_WELCOME);
        assert.deepEqual(served.accepted, [
          { kind: 'startup', parameters: { user: 'app', database: 'db' }, raw: STARTUP, encrypted: true },
        ]);
        assert.equal(served.tracked.length, 2, 'the TCP socket and the TLS socket on it');
        assert.ok(served.tracked[1] instanceof TLSSocket);
      });

      it('refuses a GSSENCRequest or a second SSLRequest inside TLS, over TLS', async () => {
        const cases: Array<[Buffer, Buffer]> = [
          [GSSENC_REQUEST, SECOND_GSSENC_REQUEST],
          [SSL_REQUEST, SECOND_SSL_REQUEST],
        ];
        for (const [sent, answer] of cases) {
          const { client, served } = await serve(startupThenRefuse(secureContext));
          client.write(SSL_REQUEST);
          assert.deepEqual(await client.read(1), text('S'));
          const secure = await clientTls(client);
          secure.write(sent);
          assert.deepEqual(await secure.readToEnd(), answer);
          await served.finished;
          assert.deepEqual(served.outcomes, ['protocolErrors']);
        }
      });

      it('refuses bytes sent after the SSLRequest before its answer, in the clear and without the S (CVE-2021-23214)', async () => {
        const { client, served } = await serve(startupThenRefuse(secureContext));
        client.write(bytes(SSL_REQUEST, STARTUP));
        assert.deepEqual(await client.readToEnd(), UNENCRYPTED_AFTER_SSL_REQUEST);
        await served.finished;
        assert.deepEqual([served.accepted, served.outcomes], [[], ['protocolErrors']]);
      });

      it('answers a StartupMessage for 3.2 with NegotiateProtocolVersion 3.0 before anything else', async () => {
        const { client, served } = await serve(startupThenRefuse());
        client.write(bytes(hex('00 00 00 12  00 03 00 02'), text('user\0app\0\0')));
        assert.deepEqual(await client.readToEnd(), bytes(NEGOTIATE_3_0, NOT_WELCOME));
        assert.deepEqual(served.accepted[0]?.kind === 'startup' && served.accepted[0].parameters, {
          user: 'app',
        });
      });

      it('names the protocol options it does not support, and leaves them out of the parameters', async () => {
        const { client, served } = await serve(startupThenRefuse());
        client.write(bytes(hex('00 00 00 26  00 03 00 00'), text('user\0app\0_pq_.compression\0on\0\0')));
        assert.deepEqual(
          await client.readToEnd(),
          bytes(hex('76  00 00 00 1d  00 03 00 00  00 00 00 01'), text('_pq_.compression\0'), NOT_WELCOME),
        );
        assert.deepEqual(served.accepted[0]?.kind === 'startup' && served.accepted[0].parameters, {
          user: 'app',
        });
      });

      it('hands over a CancelRequest whole', async () => {
        const cancel = hex('00 00 00 10  04 d2 16 2e  00 00 04 d2  0a 0b 0c 0d');
        const { client, served } = await serve(startupThenRefuse());
        client.write(cancel);
        assert.deepEqual(await client.readToEnd(), Buffer.alloc(0));
        await served.finished;
        assert.deepEqual([served.accepted, served.outcomes], [[{ kind: 'cancel', raw: cancel }], []]);
      });

      it('refuses a malformed StartupMessage with PostgreSQL’s FATAL', async () => {
        const cases: Array<[Buffer, Buffer]> = [
          [bytes(hex('00 00 00 15  00 03 00 00'), text('database\0db\0\0')), NO_USER],
          [bytes(hex('00 00 00 12  00 02 00 00'), text('user\0app\0\0')), STARTUP_FOR_MAJOR_2],
          [bytes(hex('00 00 00 11  00 03 00 00'), text('user\0app\0')), NO_TERMINATOR],
        ];
        for (const [sent, answer] of cases) {
          const { client, served } = await serve(startupThenRefuse());
          client.write(sent);
          assert.deepEqual(await client.readToEnd(), answer);
          await served.finished;
          assert.deepEqual(served.outcomes, ['protocolErrors']);
        }
      });

      it('takes a StartupMessage of exactly 10,000 bytes', async () => {
        const value = 'x'.repeat(10_000 - 8 - 'user\0app\0options\0'.length - 2);
        const longest = bytes(hex('00 00 27 10  00 03 00 00'), text(`user\0app\0options\0${value}\0\0`));
        assert.equal(longest.length, 10_000);
        const { client, served } = await serve(startupThenRefuse());
        client.write(longest);
        assert.deepEqual(await client.readToEnd(), NOT_WELCOME);
        assert.deepEqual(
          served.accepted[0]?.kind === 'startup' && served.accepted[0].parameters.options,
          value,
        );
      });

      it('closes without a word on a length over 10,000 or under 8, or a peer gone mid-packet', async () => {
        for (const sent of [
          hex('00 00 27 11  00 03 00 00'),
          hex('00 00 00 07  00 00 00'),
          STARTUP.subarray(0, 10),
        ]) {
          const { client, served } = await serve(startupThenRefuse());
          client.socket.end(sent);
          assert.deepEqual(await client.readToEnd(), Buffer.alloc(0), sent.toString('hex'));
          await served.finished;
          assert.deepEqual([served.accepted, served.outcomes], [[], ['protocolErrors']]);
        }
      });
    });

    describe('readPassword', () => {
      it('reads the PasswordMessage that answers the cleartext request', async () => {
        const { client, served } = await serve(passwordThenRefuse);
        client.write(STARTUP);
        assert.deepEqual(await client.read(9), AUTHENTICATION_CLEARTEXT);
        client.write(PASSWORD_TOKEN_1);
        assert.deepEqual(await client.readToEnd(), NOT_WELCOME);
        assert.deepEqual(served.passwords, ['token-1']);
      });

      it('takes a password of exactly maxPasswordBytes, its NUL included', async () => {
        const { client, served } = await serve(passwordThenRefuse);
        client.write(bytes(STARTUP, hex('70  00 00 00 14'), text('0123456789abcde\0')));
        assert.deepEqual(await client.readToEnd(), bytes(AUTHENTICATION_CLEARTEXT, NOT_WELCOME));
        assert.deepEqual(served.passwords, ['0123456789abcde']);
      });

      it('refuses another message type, a password one byte too long, and a length under 4 (08P01)', async () => {
        const cases: Array<[Buffer, Buffer]> = [
          [
            bytes(hex('51  00 00 00 0d'), text('SELECT 1\0')),
            bytes(
              hex('45  00 00 00 4b'),
              FATAL,
              text('C08P01\0Mexpected password response, got message type 81\0\0'),
            ),
          ],
          [
            bytes(hex('70  00 00 00 15'), text('0123456789abcdef\0')),
            bytes(
              hex('45  00 00 00 58'),
              FATAL,
              text('C08P01\0Mpassword packet too long (17 bytes; at most 16 are accepted)\0\0'),
            ),
          ],
          [
            hex('70  00 00 00 03'),
            bytes(hex('45  00 00 00 36'), FATAL, text('C08P01\0Minvalid message length (3)\0\0')),
          ],
        ];
        for (const [sent, answer] of cases) {
          const { client, served } = await serve(passwordThenRefuse);
          client.write(bytes(STARTUP, sent));
          assert.deepEqual(await client.readToEnd(), bytes(AUTHENTICATION_CLEARTEXT, answer));
          await served.finished;
          assert.deepEqual([served.passwords, served.outcomes], [[], ['protocolErrors']]);
        }
      });

      it('delivers the refusal of an oversized password whole while the client goes on sending it', async () => {
        const { client, served } = await serve(passwordThenRefuse);
        client.write(STARTUP);
        assert.deepEqual(await client.read(9), AUTHENTICATION_CLEARTEXT);
        // 'p' claiming 100,004 bytes, then the 100,000 of its body.
        client.write(bytes(hex('70  00 01 86 a4'), Buffer.alloc(100_000, 0x74)));
        assert.deepEqual(
          await client.readToEnd(),
          bytes(
            hex('45  00 00 00 5c'),
            FATAL,
            text('C08P01\0Mpassword packet too long (100000 bytes; at most 16 are accepted)\0\0'),
          ),
        );
        await served.finished;
        assert.deepEqual(served.outcomes, ['protocolErrors']);
      });
    });

    describe('serveLogin', () => {
      it('sends a LoginRefusal’s ErrorResponse as it is, then closes', async () => {
        const response = refusal('28P01', 'bad token', 'loginsRejected', 'get a new one');
        assert.ok(response instanceof LoginRefusal);
        assert.deepEqual(
          [response.name, response.message, response.outcome],
          ['LoginRefusal', 'login refused', 'loginsRejected'],
        );
        const expected = bytes(hex('45  00 00 00 34'), FATAL, text('C28P01\0Mbad token\0Hget a new one\0\0'));
        assert.deepEqual(response.response, expected);
        const { client, served } = await serve(async () => {
          throw response;
        });
        assert.deepEqual(await client.readToEnd(), expected);
        await served.finished;
        assert.deepEqual(served.outcomes, ['loginsRejected']);
      });

      it('closes a silent client at the deadline without a word, and counts only the timeout', async () => {
        const { client, served } = await serve(startupThenRefuse(), { handshakeTimeoutMs: 100 });
        client.write(SSL_REQUEST);
        assert.deepEqual(await client.readToEnd(), text('N'));
        await served.finished;
        assert.deepEqual([served.accepted, served.outcomes], [[], ['handshakeTimeouts']]);
      });

      it('counts a refusal that comes after the client left as a protocol error, and sends nothing', async () => {
        const { client, served } = await serve(async (connection) => {
          await acceptStartup(connection, {});
          if (!connection.scope.closed) await once(connection.raw, 'close');
          throw refusal('28000', 'not welcome', 'loginsRejected');
        });
        client.write(STARTUP);
        client.socket.destroy();
        await served.finished;
        assert.deepEqual(served.outcomes, ['protocolErrors']);
      });

      it('destroys a connection that sends more than largestPacket + 64 KiB ahead of the login', async () => {
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const { client, served } = await serve(
          async (connection) => {
            await acceptStartup(connection, {});
            await gate;
            await readPassword(connection.reader, 16);
          },
          { largestPacket: 100 },
        );
        client.write(bytes(STARTUP, Buffer.alloc(100 + 64 * 1024 + 1, 0x51)));
        assert.deepEqual(await client.readToEnd(), Buffer.alloc(0));
        release();
        await served.finished;
        assert.deepEqual(served.outcomes, ['protocolErrors']);
      });
    });
  },
);
