import type { AddressInfo } from 'node:net';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { LoginValidator } from './login-validator.ts';
import { PacketReader } from './packet-reader.ts';
import {
  authenticationCleartextPassword,
  fatalError,
  MAX_STARTUP_LENGTH,
  parseStartupPacket,
  passwordFromBody,
  queryMessage,
  type StartupPacket,
  startupMessage,
  typedMessage,
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
  /** Longest a client may take from connecting to sending its password (PostgreSQL's authentication_timeout). */
  handshakeTimeoutMs?: number;
  /** Longest password accepted; Entra user tokens reach several KB. */
  maxPasswordBytes?: number;
}

export interface GatewayStats {
  connections: number;
  active: number;
  loginsAccepted: number;
  loginsRejected: number;
  protocolErrors: number;
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
    track(socket);
    socket.setNoDelay(true);
    const timeout = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs ?? 15_000);
    handle(socket, options, stats, track)
      .catch(() => {
        stats.protocolErrors++;
        socket.destroy();
      })
      .finally(() => clearTimeout(timeout));
  });
  server.maxConnections = 1_000;
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

async function handle(
  raw: Socket,
  options: GatewayOptions,
  stats: GatewayStats,
  track: (socket: Duplex) => void,
): Promise<void> {
  let client: Duplex = raw;
  let encrypted = false;
  const reader = new PacketReader(raw);
  let first: StartupPacket;
  // The client may ask for TLS (SSLRequest) or GSS encryption first, then sends its real startup packet.
  for (;;) {
    first = parseStartupPacket(await reader.readUntyped(MAX_STARTUP_LENGTH));
    if (first.kind === 'gssenc') {
      client.write('N');
      continue;
    }
    if (first.kind === 'ssl' && !encrypted && options.secureContext) {
      if (reader.buffered > 0) throw new Error('received unencrypted data after SSL request');
      reader.detach({ pause: false });
      client.write('S');
      const tlsSocket = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
      track(tlsSocket);
      reader.attach(tlsSocket);
      client = tlsSocket;
      encrypted = true;
      continue;
    }
    if (first.kind === 'ssl') {
      client.write('N');
      continue;
    }
    break;
  }

  if (first.kind === 'cancel') {
    stats.cancelRequests++;
    // Cancel keys are the backend's own (its BackendKeyData was passed through), so forward as is.
    const backend = netConnect(options.backend.port, options.backend.host, () => backend.end(first.raw));
    backend.on('error', () => backend.destroy());
    client.end();
    return;
  }
  if (first.kind !== 'startup') throw new Error('unexpected packet');
  const user = first.parameters.user as string;
  const database = first.parameters.database || user;

  if (!encrypted && !options.allowInsecure) {
    stats.loginsRejected++;
    // PostgreSQL's answer when pg_hba.conf (Azure: require_secure_transport=ON) allows only hostssl.
    client.end(
      fatalError(
        '28000',
        `no pg_hba.conf entry for host "${raw.remoteAddress}", user "${user}", database "${database}", no encryption`,
      ),
    );
    return;
  }

  client.write(authenticationCleartextPassword());
  const message = await reader.readTyped((options.maxPasswordBytes ?? 16_384) + 4);
  if (message.type !== 'p') {
    client.end(fatalError('08P01', `expected password response, got message type ${message.type}`));
    return;
  }
  const verdict = await options.validator.check(user, passwordFromBody(message.body));
  if (!verdict.ok) {
    stats.loginsRejected++;
    client.end(fatalError(verdict.sqlState, verdict.message));
    return;
  }

  const backend = await loginToBackend(options.backend, verdict.role, database, first.parameters);
  if (!backend.ok) {
    stats.loginsRejected++;
    client.end(backend.error);
    return;
  }
  stats.loginsAccepted++;
  track(backend.socket);
  const pendingFromClient = reader.detach();
  client.write(backend.greeting);
  if (pendingFromClient.length > 0) backend.socket.write(pendingFromClient);
  if (backend.pending.length > 0) client.write(backend.pending);
  client.pipe(backend.socket);
  backend.socket.pipe(client);
  client.once('close', () => backend.socket.destroy());
  backend.socket.once('close', () => client.destroy());
  client.resume();
  backend.socket.resume();
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
  role: string,
  database: string,
  clientParameters: Record<string, string>,
): Promise<BackendLogin> {
  const socket = netConnect(backend.port, backend.host);
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
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
