import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type ConnectionScope, endThenDestroy } from './connection-scope.ts';
import { errorFields, passwordMessage, sslRequest, startupMessage, typedMessage } from './messages.ts';
import type { PacketReader } from './packet-reader.ts';

/** Where a PostgreSQL server listens: a host and port, or a socket folder and port (libpq's rule). */
export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * Opens a connection to a server: TCP, or the Unix socket `<host>/.s.PGSQL.<port>` when host is a
 * folder (it starts with "/"), as libpq does. Resolves once connected; the socket joins `scope` at once,
 * so a client that leaves meanwhile takes it down too.
 */
export async function connectToServer(address: ServerAddress, scope?: ConnectionScope): Promise<Socket> {
  const socket = address.host.startsWith('/')
    ? netConnect(join(address.host, `.s.PGSQL.${address.port}`))
    : netConnect(address.port, address.host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before it connected')));
    scope?.own(socket);
  });
  return socket;
}

/**
 * Asks the server for TLS (SSLRequest), then runs the TLS handshake on the same socket with `tls`'s
 * options (CA, host name check, session to resume). Rejects with code TLS_NOT_OFFERED when the server
 * answers `N`, or with the TLS error (a certificate that does not verify, say).
 */
export async function startTls(
  socket: Socket,
  tls: ConnectionOptions,
  scope?: ConnectionScope,
): Promise<TLSSocket> {
  const answer = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanUp();
      // Anything after the one-byte answer was sent in the clear before TLS: PostgreSQL never does that.
      if (chunk.length > 1)
        reject(new Error('the server sent more than one byte in answer to the SSLRequest'));
      else resolve(String.fromCharCode(chunk[0] ?? 0));
    };
    const onClose = () => {
      cleanUp();
      reject(new Error('the server closed the connection after the SSLRequest'));
    };
    const cleanUp = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(sslRequest());
  });
  if (answer !== 'S') {
    throw Object.assign(
      new Error(
        answer === 'N'
          ? 'the server does not offer TLS (it answered N to the SSLRequest)'
          : `not a PostgreSQL server: it answered ${JSON.stringify(answer)} to the SSLRequest`,
      ),
      { code: answer === 'N' ? 'TLS_NOT_OFFERED' : 'NOT_POSTGRES' },
    );
  }
  const secure = tlsConnect({ ...tls, socket });
  scope?.own(secure);
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
    secure.once('close', () =>
      reject(new Error('the server closed the connection during the TLS handshake')),
    );
  });
  secure.setNoDelay?.(true);
  return secure;
}

export type ServerLogin =
  | {
      ok: true;
      /** AuthenticationOk up to ReadyForQuery, framed, to replay to the client. */
      greeting: Buffer;
      /** The BackendKeyData body (process id and secret key): what a CancelRequest must carry. */
      backendKey: Buffer | undefined;
    }
  /** The server's ErrorResponse, framed, and its fields. */
  | { ok: false; kind: 'refused'; error: Buffer; fields: Record<string, string> }
  /** An authentication request other than cleartext (3), or any password request when none is given. */
  | { ok: false; kind: 'authentication'; method: number };

/** Largest message read during a login; a ParameterStatus or an ErrorResponse is far smaller. */
const MAX_LOGIN_MESSAGE = 1 << 20;

/**
 * Logs in: sends the StartupMessage, answers a cleartext password request with `password()` (the
 * clouds' token logins all ask for cleartext, as the server needs the token itself), and collects what
 * follows up to ReadyForQuery. The socket stays attached to `reader`; detach it to pipe the session.
 * Rejects when the server closes, sends an oversized message, or answers with NegotiateProtocolVersion.
 */
export async function loginToServer(
  socket: Duplex,
  reader: PacketReader,
  parameters: Record<string, string>,
  password?: () => Promise<string> | string,
): Promise<ServerLogin> {
  socket.write(startupMessage(parameters));
  const greeting: Buffer[] = [];
  let backendKey: Buffer | undefined;
  for (;;) {
    const message = await reader.readTyped(MAX_LOGIN_MESSAGE);
    const framed = typedMessage(message.type, message.body);
    if (message.type === 'E')
      return { ok: false, kind: 'refused', error: framed, fields: errorFields(message.body) };
    // PostgreSQL sends it only to a client that asks for a newer minor version or for protocol options
    // (`_pq_.*`), and this login asks for 3.0 with the parameters the proxy and the gateway pass, none
    // of them an option; libpq ends the connection on it too. Kept, it would reach the client inside
    // the greeting, after its own login, where no client expects one (pg: "received invalid response: 76").
    if (message.type === 'v') {
      throw new Error(
        'the server answered NegotiateProtocolVersion to a StartupMessage for protocol 3.0 without options',
      );
    }
    if (message.type === 'R') {
      const method = message.body.readInt32BE(0);
      if (method === 3 && password) {
        socket.write(passwordMessage(await password()));
        continue;
      }
      if (method !== 0) return { ok: false, kind: 'authentication', method };
    }
    if (message.type === 'K') backendKey = Buffer.from(message.body);
    greeting.push(framed);
    if (message.type === 'Z') return { ok: true, greeting: Buffer.concat(greeting), backendKey };
  }
}

/**
 * Starts the session: the greeting (and whatever either side sent ahead) goes where it belongs, then
 * bytes pass through both ways untouched until either side closes, which closes the other.
 */
export function pipeSession(session: {
  client: Duplex;
  clientReader: PacketReader;
  server: Duplex;
  serverReader: PacketReader;
  greeting: Buffer;
}): void {
  const { client, server } = session;
  const pendingFromClient = session.clientReader.detach();
  const pendingFromServer = session.serverReader.detach();
  client.write(session.greeting);
  if (pendingFromClient.length > 0) server.write(pendingFromClient);
  if (pendingFromServer.length > 0) client.write(pendingFromServer);
  client.pipe(server);
  server.pipe(client);
  // When one side closes, what is still queued for the other (a last FATAL, the rows before it) is
  // flushed before that side is closed too; endThenDestroy bounds the wait.
  server.once('close', () => endThenDestroy(client));
  client.once('close', () => endThenDestroy(server));
  client.resume();
  server.resume();
}
