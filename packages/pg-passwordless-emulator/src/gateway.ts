import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import {
  acceptStartup,
  authenticationCleartextPassword,
  type ClientConnection,
  connectToServer,
  endThenDestroy,
  fatalError,
  LoginRefusal,
  loginToServer,
  MAX_STARTUP_LENGTH,
  PacketReader,
  pipeSession,
  queryMessage,
  readPassword,
  refusal,
  serveLogin,
  typedMessage,
} from 'pg-passwordless/wire';
import type { LoginValidator } from './login-validator.ts';

/** Where logged-in sessions go, and how to log in there as a role. */
export interface GatewayBackend {
  host: string;
  port: number;
  /**
   * The StartupMessage parameters of the backend login of `role`. `clientSettings` are the client's own
   * startup parameters less `user` and `database` (settings as `name=value`, `options`, `replication`):
   * a PostgreSQL backend takes them with its own checks, as a cloud's server does; PGlite has one user
   * and one shared session, and logs in as postgres without them.
   */
  loginParameters(
    role: string,
    database: string,
    clientSettings: Record<string, string>,
  ): Record<string, string>;
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
  /**
   * Ends each session this long after its login, closing the connection without a message (Aurora
   * DSQL's 60-minute cap); none by default.
   */
  sessionCapMs?: number;
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
  /** Sessions the gateway ended at `sessionCapMs`. */
  sessionsCapped: number;
}

export interface Gateway {
  host: string;
  port: number;
  stats(): GatewayStats;
  close(): Promise<void>;
}

/**
 * A PostgreSQL-wire gateway that logs clients in the way the cloud does (TLS, cleartext password = token,
 * checked by a cloud-specific validator), then hands the session to a real backend as the mapped role,
 * with the client's other startup parameters for the backend to take or refuse, and passes every byte
 * through. The token is checked at login only: sessions outlive it, as in the cloud.
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
    sessionsCapped: 0,
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

function serveConnection(
  raw: Socket,
  options: GatewayOptions,
  stats: GatewayStats,
  track: (socket: Duplex) => void,
): Promise<void> {
  const maxPasswordBytes = options.maxPasswordBytes ?? DEFAULT_MAX_PASSWORD_BYTES;
  return serveLogin(
    raw,
    {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      // The length word counts itself (4 bytes); a typed packet has one more byte, its type.
      largestPacket: Math.max(MAX_STARTUP_LENGTH, maxPasswordBytes + 5),
      track,
      count: (outcome) => stats[outcome]++,
    },
    (connection) => handle(connection, options, stats, track, maxPasswordBytes),
  );
}

/** Runs one login; throws a LoginRefusal to answer with an ErrorResponse, anything else to drop the connection. */
async function handle(
  connection: ClientConnection,
  options: GatewayOptions,
  stats: GatewayStats,
  track: (socket: Duplex) => void,
  maxPasswordBytes: number,
): Promise<void> {
  const first = await acceptStartup(connection, { secureContext: options.secureContext });
  const { raw, client, reader, scope } = connection;

  if (first.kind === 'cancel') {
    stats.cancelRequests++;
    // Cancel keys are the backend's own (its BackendKeyData was passed through), so forward as is. The
    // backend connection belongs to the gateway, not this client, which PostgreSQL closes at once.
    endThenDestroy(client);
    // A backend that cannot be reached has no query to cancel: the request is dropped, as by PostgreSQL.
    const backend = await connectToServer(options.backend).catch(() => undefined);
    if (backend) {
      track(backend);
      endThenDestroy(backend, first.raw);
    }
    return;
  }
  const user = first.parameters.user as string;
  const database = first.parameters.database || user;

  if (!first.encrypted && !options.allowInsecure) {
    // PostgreSQL's answer when pg_hba.conf (Azure: require_secure_transport=ON) allows only hostssl.
    throw refusal(
      '28000',
      `no pg_hba.conf entry for host "${raw.remoteAddress}", user "${user}", database "${database}", no encryption`,
      'loginsRejected',
    );
  }

  client.write(authenticationCleartextPassword());
  const password = await readPassword(reader, maxPasswordBytes);
  const verdict = await options.validator.check(user, password);
  if (!verdict.ok) throw refusal(verdict.sqlState, verdict.message, 'loginsRejected', verdict.hint);
  // The client may have left, or run out of time, while the token was checked: no backend login then.
  if (scope.closed) throw new Error('the client left during the login');

  const backend = await loginToBackend(options.backend, scope, verdict.role, database, first.parameters);
  stats.loginsAccepted++;
  pipeSession({
    client,
    clientReader: reader,
    server: backend.socket,
    serverReader: backend.reader,
    greeting: backend.greeting,
  });
  if (options.sessionCapMs !== undefined) endAtCap(client, options.sessionCapMs, stats);
}

/** Ends a session at the cap: the client's connection closes (the backend's follows), with no message. */
function endAtCap(client: Duplex, capMs: number, stats: GatewayStats): void {
  const timer = setTimeout(() => {
    stats.sessionsCapped++;
    endThenDestroy(client);
  }, capMs);
  timer.unref();
  client.once('close', () => clearTimeout(timer));
}

/**
 * Logs in to the backend as the role, collects its greeting (AuthenticationOk, ParameterStatus,
 * BackendKeyData, up to ReadyForQuery) to replay to the client, and runs the after-login SQL.
 * Throws a LoginRefusal with the backend's own ErrorResponse, or one that says what went wrong.
 */
async function loginToBackend(
  backend: GatewayBackend,
  scope: ClientConnection['scope'],
  role: string,
  database: string,
  clientParameters: Record<string, string>,
): Promise<{ socket: Socket; reader: PacketReader; greeting: Buffer }> {
  let socket: Socket;
  try {
    // Owned by the client's connection: the deadline or the client leaving destroys it too.
    socket = await connectToServer(backend, scope);
  } catch (error) {
    throw backendRefusal(`the emulator's backend database is not reachable: ${(error as Error).message}`);
  }
  const parameters = backend.loginParameters(role, database, clientSettings(clientParameters));
  const reader = new PacketReader(socket);
  try {
    const login = await loginToServer(socket, reader, parameters);
    if (!login.ok && login.kind === 'refused') throw new LoginRefusal(login.error, 'loginsRejected');
    if (!login.ok) {
      throw backendRefusal(
        `the emulator's backend asked role "${role}" for a password; it must trust the gateway`,
        '28000',
      );
    }
    const sql = backend.afterLoginSql(role);
    // What the after-login SQL changed (SET ROLE: is_superuser, session_authorization) reaches the
    // client as ParameterStatus messages, placed before the greeting's ReadyForQuery.
    const changed: Buffer[] = [];
    if (sql) {
      socket.write(queryMessage(sql));
      for (;;) {
        const message = await reader.readTyped(1 << 20);
        if (message.type === 'E')
          throw new LoginRefusal(typedMessage(message.type, message.body), 'loginsRejected');
        if (message.type === 'S') changed.push(typedMessage(message.type, message.body));
        if (message.type === 'Z') break;
      }
    }
    // ReadyForQuery is the greeting's last message, 6 bytes long ('Z', length 5, status).
    const readyForQuery = login.greeting.subarray(-6);
    const greeting = Buffer.concat([login.greeting.subarray(0, -6), ...changed, readyForQuery]);
    return { socket, reader, greeting };
  } catch (error) {
    socket.destroy();
    if (error instanceof LoginRefusal) throw error;
    throw backendRefusal(`the emulator's backend broke off the login: ${(error as Error).message}`);
  }
}

/**
 * The client's startup parameters less the two the gateway decides: `user` (the role the token maps to)
 * and `database`. Everything else goes to the backend as sent, for PostgreSQL to take or refuse with
 * its own FATAL error, as it does behind the cloud's login (ProcessStartupPacket reads `options`,
 * `replication` and any setting as `name=value`): an unknown setting (42704), one fixed at server start
 * (55P02), a superuser-only one (42501). None lifts the session above the mapped role, because
 * PostgreSQL checks each against the session user, and the gateway chose that one: `role` needs
 * membership (42501, as SET ROLE does), `session_authorization` a superuser login (42501),
 * `replication` the REPLICATION attribute (42501) and a pg_hba.conf replication line (28000), and
 * `options` (`-c name=value`) goes through the same checks.
 */
function clientSettings(clientParameters: Record<string, string>): Record<string, string> {
  const { user: _user, database: _database, ...settings } = clientParameters;
  return settings;
}

function backendRefusal(message: string, sqlState = '08006'): LoginRefusal {
  return new LoginRefusal(fatalError(sqlState, message), 'loginsRejected');
}
