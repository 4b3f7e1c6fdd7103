import type { AddressInfo } from 'node:net';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { LoginValidator } from './login-validator.ts';
import { PacketLengthError, PacketReader } from './packet-reader.ts';
import {
  authenticationCleartextPassword,
  fatalError,
  GSSENC_REQUEST,
  MAX_STARTUP_LENGTH,
  parseStartupPacket,
  passwordFromBody,
  queryMessage,
  SSL_REQUEST,
  type StartupPacket,
  StartupPacketError,
  startupMessage,
  typedMessage,
  unsupportedProtocol,
} from './wire.ts';

/** Where logged-in sessions go, and how to log in there as a role. */
export interface GatewayBackend {
  host: string;
  port: number;
  /** Startup parameters for the backend login of `role` (PGlite has one user: it logs in as postgres). */
  loginParameters(role: string, database: string): Record<string, string>;
  /** SQL to run right after the backend login, before the client sees the session. */
  afterLoginSql(role: string): string | undefined;
}

export interface GatewayOptions {
  host: string;
  port: number;
  /** TLS context; without it the gateway can only serve with `allowInsecure`. */
  secureContext?: SecureContext;
  /** Accept logins without TLS (a server with require_secure_transport=OFF). */
  allowInsecure: boolean;
  validator: LoginValidator;
  backend: GatewayBackend;
  /**
   * Longest a login may take, from accept until the session is piped to the backend (PostgreSQL's
   * authentication_timeout); a client still logging in then is disconnected without a message, as
   * PostgreSQL does. Default 15 s.
   */
  handshakeTimeoutMs?: number;
  /** Longest password accepted (default 16 KB); Entra user tokens reach several KB. */
  maxPasswordBytes?: number;
}

export interface GatewayStats {
  connections: number;
  active: number;
  loginsAccepted: number;
  loginsRejected: number;
  protocolErrors: number;
  /** Logins cut off by `handshakeTimeoutMs`. */
  handshakeTimeouts: number;
  cancelRequests: number;
}

export interface Gateway {
  host: string;
  port: number;
  stats(): GatewayStats;
  close(): Promise<void>;
}

/** Parameters a client may set at startup that the backend should see too. */
const PASSED_PARAMETERS = [
  'application_name',
  'client_encoding',
  'DateStyle',
  'TimeZone',
  'options',
  'extra_float_digits',
  'search_path',
];

/**
 * A PostgreSQL-wire gateway that logs clients in the way the cloud does (TLS, cleartext password = token,
 * checked by a cloud-specific validator), then hands the session to a real backend as the mapped role and
 * passes every byte through. The token is checked at login only: sessions outlive it, as in the cloud.
 *
 * @example
 * // A backend (an embedded PGlite over TCP) and a token check (one fixed token); the gateway goes in front.
 * const { PGlite } = await import('@electric-sql/pglite');
 * const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
 * const { default: pg } = await import('pg');
 * const db = await PGlite.create();
 * const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
 * await server.start();
 * const gateway = await startGateway({
 *   host: '127.0.0.1',
 *   port: 0,
 *   allowInsecure: true, // loopback only; the emulator serves TLS (secureContext) and requires it
 *   validator: {
 *     check: async (user, password) =>
 *       password === 'token-1'
 *         ? { ok: true, role: user }
 *         : { ok: false, sqlState: '28P01', message: 'bad token' },
 *   },
 *   backend: {
 *     host: '127.0.0.1',
 *     port: Number(server.getServerConn().split(':')[1]),
 *     loginParameters: () => ({ user: 'postgres', database: 'postgres' }),
 *     afterLoginSql: () => undefined,
 *   },
 * });
 * const client = new pg.Client({ port: gateway.port, user: 'postgres', password: 'token-1', ssl: false });
 * await client.connect();
 * console.log((await client.query('select 1 as one')).rows); // [ { one: 1 } ]
 * console.log(gateway.stats().loginsAccepted); // 1
 * await client.end();
 * await gateway.close();
 * await server.stop();
 * await db.close();
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const stats: GatewayStats = {
    connections: 0,
    active: 0,
    loginsAccepted: 0,
    loginsRejected: 0,
    protocolErrors: 0,
    handshakeTimeouts: 0,
    cancelRequests: 0,
  };
  const sockets = new Set<Duplex>();
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((socket) => {
    stats.connections++;
    stats.active++;
    socket.once('close', () => stats.active--);
    socket.setNoDelay(true);
    void serveConnection(socket, options, stats, track);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: options.host,
    port,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connections held at once; the listener drops new ones beyond it (what a refused login must not hold). */
const MAX_CONNECTIONS = 1_000;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_PASSWORD_BYTES = 16_384;
/** What a client may send ahead of the protocol during login, beyond the largest packet it may send. */
const HANDSHAKE_SLACK_BYTES = 64 * 1024;
/** How long a refused client gets to take its ErrorResponse before its socket is destroyed anyway. */
const REFUSAL_FLUSH_MS = 1_000;

/** A login turned down with a FATAL ErrorResponse, sent before the close as PostgreSQL does. */
class Refusal extends Error {
  constructor(
    readonly response: Buffer,
    readonly counter: 'loginsRejected' | 'protocolErrors',
  ) {
    super('login refused');
  }
}

const refusal = (sqlState: string, message: string, counter: Refusal['counter']) =>
  new Refusal(fatalError(sqlState, message), counter);

/**
 * The sockets of one client connection (TCP, TLS on it, the backend session). They close together, and
 * none outlives a refusal, the handshake deadline, or its peer.
 */
interface ConnectionScope {
  /** Tracks a socket: destroyed with the rest of the connection (at once if that already happened). */
  own(socket: Duplex): void;
  closeAll(): void;
  readonly closed: boolean;
}

function connectionScope(track: (socket: Duplex) => void): ConnectionScope {
  const owned = new Set<Duplex>();
  let closed = false;
  return {
    own(socket) {
      track(socket);
      owned.add(socket);
      if (closed) socket.destroy();
    },
    closeAll() {
      closed = true;
      for (const socket of owned) socket.destroy();
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * Ends a socket after a last message, then destroys it. end() alone sends FIN but leaves the socket
 * half-open until the peer closes its side, and a peer that never does would hold a connection slot
 * for ever: destroy once the message is flushed, or after a grace period when the peer does not read.
 */
function endThenDestroy(socket: Duplex, last?: Buffer): void {
  const timer = setTimeout(() => socket.destroy(), REFUSAL_FLUSH_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(last, () => socket.destroy());
}

async function serveConnection(
  raw: Socket,
  options: GatewayOptions,
  stats: GatewayStats,
  track: (socket: Duplex) => void,
): Promise<void> {
  const scope = connectionScope(track);
  scope.own(raw);
  raw.once('close', () => scope.closeAll());
  // One deadline for the whole login, from accept until the session is piped to the backend.
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    stats.handshakeTimeouts++;
    scope.closeAll();
  }, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  deadline.unref();
  raw.once('close', () => clearTimeout(deadline));
  const connection: Connection = { client: raw };
  try {
    await handle(raw, connection, scope, options, stats, track);
    clearTimeout(deadline);
  } catch (error) {
    if (timedOut) return;
    if (error instanceof Refusal) {
      stats[error.counter]++;
      if (scope.closed) return;
      // Read and drop whatever the client still sends (the rest of an oversized password, say): it
      // can no longer fill memory, nor turn the close into a reset that loses the ErrorResponse.
      connection.reader?.detach({ pause: false });
      connection.client.resume();
      endThenDestroy(connection.client, error.response);
      return;
    }
    // Malformed input, a peer gone mid-login, more bytes than the protocol allows: PostgreSQL logs
    // these (COMMERROR) and closes without a word, since the peer may not speak the protocol at all.
    stats.protocolErrors++;
    scope.closeAll();
  }
}

/** The client side of a login: TCP, or TLS once negotiated, and the reader on it. */
interface Connection {
  client: Duplex;
  reader?: PacketReader;
}

/** Runs one login; throws a Refusal to answer with an ErrorResponse, anything else to drop the connection. */
async function handle(
  raw: Socket,
  connection: Connection,
  scope: ConnectionScope,
  options: GatewayOptions,
  stats: GatewayStats,
  track: (socket: Duplex) => void,
): Promise<void> {
  const maxPasswordBytes = options.maxPasswordBytes ?? DEFAULT_MAX_PASSWORD_BYTES;
  // The length word counts itself (4 bytes); a typed packet has one more byte, its type.
  const largestPacket = Math.max(MAX_STARTUP_LENGTH, maxPasswordBytes + 5);
  const reader = new PacketReader(raw, { maxBufferedBytes: largestPacket + HANDSHAKE_SLACK_BYTES });
  connection.reader = reader;
  let first: StartupPacket;
  // The client may ask for TLS (SSLRequest) or GSS encryption first, then sends its real startup packet.
  // PostgreSQL allows each request once (ProcessStartupPacket's ssl_done, gss_done): a repeat is read as a
  // startup packet of protocol 1234.5679 or 1234.5680, which it does not support.
  let sslDone = false;
  let gssDone = false;
  for (;;) {
    first = parseOrRefuse(await reader.readUntyped(MAX_STARTUP_LENGTH));
    if ((first.kind === 'ssl' && sslDone) || (first.kind === 'gssenc' && gssDone)) {
      const { sqlState, message } = unsupportedProtocol(first.kind === 'ssl' ? SSL_REQUEST : GSSENC_REQUEST);
      throw refusal(sqlState, message, 'protocolErrors');
    }
    if (first.kind === 'gssenc') {
      gssDone = true;
      connection.client.write('N');
      continue;
    }
    if (first.kind === 'ssl') {
      sslDone = true;
      if (!options.secureContext) {
        connection.client.write('N');
        continue;
      }
      // Bytes sent before the 'S' would be read as plaintext although the client meant them encrypted.
      if (reader.buffered > 0)
        throw refusal('08P01', 'received unencrypted data after SSL request', 'protocolErrors');
      reader.detach({ pause: false });
      raw.write('S');
      const tlsSocket = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
      scope.own(tlsSocket);
      tlsSocket.once('close', () => scope.closeAll());
      reader.attach(tlsSocket);
      connection.client = tlsSocket;
      gssDone = true; // no GSS encryption inside TLS
      continue;
    }
    break;
  }
  const client = connection.client;
  const encrypted = client !== raw;

  if (first.kind === 'cancel') {
    stats.cancelRequests++;
    // Cancel keys are the backend's own (its BackendKeyData was passed through), so forward as is. The
    // backend connection belongs to the gateway, not this client, which PostgreSQL closes at once.
    const backend = connectToBackend(options.backend, () => endThenDestroy(backend, first.raw));
    track(backend);
    endThenDestroy(client);
    return;
  }
  const user = first.parameters.user as string;
  const database = first.parameters.database || user;

  if (!encrypted && !options.allowInsecure) {
    // PostgreSQL's answer when pg_hba.conf (Azure: require_secure_transport=ON) allows only hostssl.
    throw refusal(
      '28000',
      `no pg_hba.conf entry for host "${raw.remoteAddress}", user "${user}", database "${database}", no encryption`,
      'loginsRejected',
    );
  }

  client.write(authenticationCleartextPassword());
  let message: { type: string; body: Buffer };
  try {
    message = await reader.readTyped(maxPasswordBytes + 4);
  } catch (error) {
    if (!(error instanceof PacketLengthError)) throw error;
    const text =
      error.length > maxPasswordBytes + 4
        ? `password packet too long (${error.length - 4} bytes; at most ${maxPasswordBytes} are accepted)`
        : `invalid message length (${error.length})`;
    throw refusal('08P01', text, 'protocolErrors');
  }
  if (message.type !== 'p') {
    throw refusal(
      '08P01',
      `expected password response, got message type ${message.type.charCodeAt(0)}`,
      'protocolErrors',
    );
  }
  const verdict = await options.validator.check(user, passwordFromBody(message.body));
  if (!verdict.ok) throw refusal(verdict.sqlState, verdict.message, 'loginsRejected');
  // The client may have left, or run out of time, while the token was checked: no backend login then.
  if (scope.closed) throw new Error('the client left during the login');

  const backend = await loginToBackend(options.backend, scope, verdict.role, database, first.parameters);
  if (!backend.ok) throw new Refusal(backend.error, 'loginsRejected');
  stats.loginsAccepted++;
  const pendingFromClient = reader.detach();
  client.write(backend.greeting);
  if (pendingFromClient.length > 0) backend.socket.write(pendingFromClient);
  if (backend.pending.length > 0) client.write(backend.pending);
  client.pipe(backend.socket);
  backend.socket.pipe(client);
  backend.socket.once('close', () => scope.closeAll());
  client.resume();
  backend.socket.resume();
}

/** Parses the first packet; a malformed one is answered as PostgreSQL does (FATAL, with its SQLSTATE). */
function parseOrRefuse(packet: Buffer): StartupPacket {
  try {
    return parseStartupPacket(packet);
  } catch (error) {
    if (error instanceof StartupPacketError) throw refusal(error.sqlState, error.message, 'protocolErrors');
    throw error;
  }
}

type BackendLogin =
  | { ok: true; socket: Socket; greeting: Buffer; pending: Buffer }
  | { ok: false; error: Buffer };

/**
 * Logs in to the backend as the role, collects its greeting (AuthenticationOk, ParameterStatus,
 * BackendKeyData, up to ReadyForQuery) to replay to the client, and runs the after-login SQL.
 */
async function loginToBackend(
  backend: GatewayBackend,
  scope: ConnectionScope,
  role: string,
  database: string,
  clientParameters: Record<string, string>,
): Promise<BackendLogin> {
  const socket = connectToBackend(backend);
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before it connected')));
      // Owned by the client's connection: the deadline or the client leaving destroys it too.
      scope.own(socket);
    });
  } catch (error) {
    return {
      ok: false,
      error: fatalError(
        '08006',
        `the emulator's backend database is not reachable: ${(error as Error).message}`,
      ),
    };
  }
  const parameters = backend.loginParameters(role, database);
  for (const name of PASSED_PARAMETERS) {
    const value = clientParameters[name];
    if (value !== undefined) parameters[name] = value;
  }
  const reader = new PacketReader(socket);
  socket.write(startupMessage(parameters));
  try {
    return await readGreeting(backend, socket, reader, role);
  } catch (error) {
    return fail(
      socket,
      fatalError('08006', `the emulator's backend broke off the login: ${(error as Error).message}`),
    );
  }
}

async function readGreeting(
  backend: GatewayBackend,
  socket: Socket,
  reader: PacketReader,
  role: string,
): Promise<BackendLogin> {
  const greeting: Buffer[] = [];
  for (;;) {
    const message = await reader.readTyped(1 << 20);
    const framed = typedMessage(message.type, message.body);
    if (message.type === 'E') return fail(socket, framed);
    if (message.type === 'R' && message.body.readInt32BE(0) !== 0) {
      return fail(
        socket,
        fatalError(
          '28000',
          `the emulator's backend asked role "${role}" for a password; it must trust the gateway`,
        ),
      );
    }
    greeting.push(framed);
    if (message.type === 'Z') break;
  }
  const sql = backend.afterLoginSql(role);
  if (sql) {
    socket.write(queryMessage(sql));
    for (;;) {
      const message = await reader.readTyped(1 << 20);
      if (message.type === 'E') return fail(socket, typedMessage(message.type, message.body));
      if (message.type === 'Z') break;
    }
  }
  return { ok: true, socket, greeting: Buffer.concat(greeting), pending: reader.detach() };
}

function fail(socket: Socket, error: Buffer): BackendLogin {
  socket.destroy();
  return { ok: false, error };
}

/** TCP, or the Unix socket `<host>/.s.PGSQL.<port>` when host is a directory (libpq's rule). */
function connectToBackend(backend: GatewayBackend, onConnect?: () => void): Socket {
  return backend.host.startsWith('/')
    ? netConnect(join(backend.host, `.s.PGSQL.${backend.port}`), onConnect)
    : netConnect(backend.port, backend.host, onConnect);
}
