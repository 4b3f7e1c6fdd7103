import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { PasswordlessError } from '../core/errors.ts';
import { sharedTelemetry, type Telemetry, type TelemetryLabels } from '../core/telemetry/telemetry.ts';
import type { EventLog } from '../ops/event-log.ts';
import {
  acceptStartup,
  authenticationCleartextPassword,
  type ClientConnection,
  endThenDestroy,
  LoginRefusal,
  MAX_STARTUP_LENGTH,
  pipeSession,
  readPassword,
  refusal,
  serveLogin,
} from '../wire/index.ts';
import { CancelRoutes } from './cancel-routes.ts';
import { ConnectionPlaces } from './connection-places.ts';
import { describeListenAddress, isLoopbackAddress, type ListenAddress } from './listen-address.ts';
import { localPasswordMatches } from './local-password.ts';
import { LoginOutcomes } from './login-outcomes.ts';
import { refusedLoginEvent } from './refusal-log.ts';
import { lockSocketPath } from './socket-lock.ts';
import { type Upstream, UpstreamConnector, type UpstreamLoginOutcome } from './upstream.ts';

export interface ProxyOptions {
  listen: ListenAddress;
  upstream: Upstream;
  /** When set, local clients must send it as their password; without it they send none. */
  localPassword?: string | undefined;
  /**
   * When set, clients may ask for TLS (sslmode=require, verify-full), and those that reach the proxy
   * over the network (not loopback, not the Unix socket) must: the others are refused, as by a
   * hostssl-only pg_hba.conf.
   */
  localTls?: SecureContext | undefined;
  /** Longest a client may take to log in (PostgreSQL's authentication_timeout). Default 15 s. */
  handshakeTimeoutMs?: number;
  /**
   * Sessions at once (PostgreSQL's max_connections), counted from the startup packet on, so a login in
   * progress holds its place; a client beyond them gets FATAL 53300 "sorry, too many clients already".
   * Default 1000.
   */
  maxSessions?: number;
  /**
   * Connections at once that are not sessions: accepted, their startup packet not complete yet (TLS
   * negotiation included), or refused and being closed. When they are full, the oldest is closed
   * without a word to make room, so clients that connect and say nothing cannot lock logins out.
   * Default 1000.
   */
  maxPendingConnections?: number;
  /** Each event worth a log (a refused login, a listener error); never a token. */
  log?: EventLog;
  /** The `cloud` and `plugin` attributes of its sessions and logins metrics (its token cache's labels). */
  labels?: TelemetryLabels | undefined;
  /** Where it records sessions and logins; the process's `sharedTelemetry` by default. */
  telemetry?: Telemetry;
}

export interface ProxyStats {
  connections: number;
  /** Client connections open now (logging in or in a session). */
  active: number;
  /** Sessions started. */
  sessions: number;
  /** Session places taken now: logins past their startup packet, and sessions. */
  sessionsOpen: number;
  /** Connections open now that are not sessions (see `maxPendingConnections`). */
  pending: number;
  /** Pending connections closed without a word to make room for a newer one. */
  evicted: number;
  /** Logins refused with 53300 because every session place was taken (also in loginsRejected). */
  tooManyClients: number;
  loginsRejected: number;
  protocolErrors: number;
  handshakeTimeouts: number;
  cancelsForwarded: number;
  /** Cancel requests with a key of no session of this proxy: dropped, as PostgreSQL drops them. */
  cancelsDropped: number;
  /** Logins retried with a renewed token after the server refused the cached one. */
  tokenRenewals: number;
}

export interface RunningProxy {
  address: ListenAddress;
  stats(): ProxyStats;
  /** How the last login to the server that ran its course ended (readiness reads it). */
  lastLogin(): UpstreamLoginOutcome | undefined;
  /**
   * Stops accepting, lets open sessions finish for up to `graceMs`, then closes what is left.
   * Resolves with how many sessions were still open when the grace period ended.
   */
  close(graceMs?: number): Promise<{ closedAtDeadline: number }>;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_SESSIONS = 1_000;
/**
 * Above the listen backlog (511): connections the kernel queued in a burst are all accepted before any
 * of them is read, and legitimate clients among them must not push each other out.
 */
const DEFAULT_MAX_PENDING_CONNECTIONS = 1_000;
/** Local passwords are short secrets; a longer password packet is refused before it is read. */
const MAX_LOCAL_PASSWORD_BYTES = 1_024;

/**
 * A local PostgreSQL endpoint for tools that take only a URL: each client connection gets its own
 * upstream connection, logged in with the current token over verified TLS, then bytes pass through
 * both ways untouched until either side closes.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const state = createState(options);
  // No listener limit (server.maxConnections): the listener would close a connection beyond it without
  // a word, before anything could make room. The places bound what is held instead.
  const server: Server = createServer((socket) => accept(state, socket));
  const releaseSocket = await listen(server, options.listen);
  // An accept that fails (out of file descriptors, say) is logged; the listener keeps serving.
  server.on('error', (error) =>
    state.log({
      level: 'error',
      event: 'listener_failed',
      message: `the listener failed: ${error.message}`,
      fields: { listen: describeListenAddress(options.listen), error: error.message },
    }),
  );
  const address: ListenAddress =
    options.listen.kind === 'tcp'
      ? { ...options.listen, port: (server.address() as AddressInfo).port }
      : options.listen;
  // Labelled with the port it got: port 0 asks for a free one, and two listeners must not share a series.
  state.logins = loginOutcomesOf(options, address);
  return {
    address,
    stats: () => ({
      ...state.counters,
      sessionsOpen: state.places.sessions,
      pending: state.places.pending,
      evicted: state.places.evicted,
      tokenRenewals: state.connector.renewals,
    }),
    lastLogin: () => state.connector.lastLogin,
    close: (graceMs = 0) => closeProxy(state, server, releaseSocket, graceMs),
  };
}

/** Its sessions and logins as metrics, labelled with its token cache's cloud and plugin and its address. */
function loginOutcomesOf(options: ProxyOptions, address: ListenAddress): LoginOutcomes {
  const labels = options.labels ?? { cloud: 'unknown', plugin: 'unknown' };
  const telemetry = options.telemetry ?? sharedTelemetry;
  return new LoginOutcomes(telemetry.proxy({ ...labels, listen: describeListenAddress(address) }));
}

/** What every connection of one proxy shares. */
interface ProxyState {
  options: ProxyOptions;
  log: EventLog;
  connector: UpstreamConnector;
  cancelRoutes: CancelRoutes;
  places: ConnectionPlaces;
  logins: LoginOutcomes;
  counters: Omit<ProxyStats, 'sessionsOpen' | 'pending' | 'evicted' | 'tokenRenewals'>;
  /** Every socket of every connection (client, TLS, upstream): what close() destroys at its deadline. */
  sockets: Set<Duplex>;
  /** The client connections open now, one per accepted socket: what close() waits for. */
  clients: Set<Socket>;
  onClientClosed: Set<() => void>;
  shuttingDown: boolean;
}

function createState(options: ProxyOptions): ProxyState {
  return {
    options,
    log: options.log ?? (() => {}),
    connector: new UpstreamConnector(options.upstream),
    cancelRoutes: new CancelRoutes(),
    logins: loginOutcomesOf(options, options.listen),
    places: new ConnectionPlaces({
      maxSessions: limit(options.maxSessions, DEFAULT_MAX_SESSIONS, 'maxSessions'),
      maxPending: limit(
        options.maxPendingConnections,
        DEFAULT_MAX_PENDING_CONNECTIONS,
        'maxPendingConnections',
      ),
    }),
    counters: {
      connections: 0,
      active: 0,
      sessions: 0,
      loginsRejected: 0,
      protocolErrors: 0,
      handshakeTimeouts: 0,
      cancelsForwarded: 0,
      cancelsDropped: 0,
      tooManyClients: 0,
    },
    sockets: new Set(),
    clients: new Set(),
    onClientClosed: new Set(),
    shuttingDown: false,
  };
}

/** One accepted connection: a pending place, then the login under one deadline, then the session. */
function accept(state: ProxyState, socket: Socket): void {
  const { counters, places, clients } = state;
  counters.connections++;
  counters.active++;
  clients.add(socket);
  // Read now: a socket that is gone no longer knows its peer.
  const peer = describePeer(socket);
  const local = state.options.listen.kind === 'unix' || isLoopbackAddress(socket.remoteAddress);
  socket.once('close', () => {
    counters.active--;
    clients.delete(socket);
    places.release(socket);
    for (const waiter of state.onClientClosed) waiter();
  });
  places.admit(socket);
  const track = (tracked: Duplex) => {
    state.sockets.add(tracked);
    tracked.once('close', () => state.sockets.delete(tracked));
  };
  void serveLogin(
    socket,
    {
      handshakeTimeoutMs: state.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      largestPacket: MAX_STARTUP_LENGTH,
      track,
      // A connection closed to make room did nothing wrong: it is counted as evicted only.
      count: (outcome) => {
        if (!places.wasEvicted(socket)) counters[outcome]++;
        if (outcome === 'handshakeTimeouts') state.logins.timedOut(socket);
      },
    },
    async (connection) => {
      try {
        await login(state, connection, { peer, local });
      } catch (error) {
        state.logins.failed(socket, error, connection.scope.closed);
        // A client that left mid-login was not refused: nothing to log.
        if (error instanceof LoginRefusal && !connection.scope.closed) {
          // Refused: its session place goes back while it reads its ErrorResponse.
          places.admit(socket);
          state.log(refusedLoginEvent(peer, error.response));
        }
        throw error;
      }
    },
  );
}

/** `origin`: the client's address as read at accept, and whether it is on this machine. */
async function login(
  state: ProxyState,
  connection: ClientConnection,
  origin: { peer: string; local: boolean },
): Promise<void> {
  const { counters, options } = state;
  const startup = await acceptStartup(connection, { secureContext: options.localTls });
  if (startup.kind === 'cancel') return forwardCancel(state, connection, startup.raw);
  state.logins.begin(connection.raw);
  if (state.shuttingDown) {
    // PostgreSQL's answer during a smart shutdown; cancel requests above still pass.
    throw refusal('57P03', 'pg-passwordless proxy: shutting down, no new sessions', 'loginsRejected');
  }
  // As PostgreSQL answers at this point when max_connections is reached, before any authentication.
  if (!state.places.takeSession(connection.raw)) {
    counters.tooManyClients++;
    throw refusal('53300', 'sorry, too many clients already', 'loginsRejected');
  }
  await checkClient(connection, startup, origin, options);
  const session = await state.connector.open(startup.parameters, connection.scope);
  if (connection.scope.closed) throw new Error('the client left during the login');
  counters.sessions++;
  state.logins.succeeded(connection.raw);
  if (session.backendKey) {
    const forget = state.cancelRoutes.add(session.backendKey, session.remote);
    session.socket.once('close', forget);
  }
  pipeSession({
    client: connection.client,
    clientReader: connection.reader,
    server: session.socket,
    serverReader: session.reader,
    greeting: session.greeting,
  });
}

/**
 * A CancelRequest for one of this proxy's sessions goes to the server that session reached; any other
 * is dropped, as PostgreSQL drops it.
 */
async function forwardCancel(
  state: ProxyState,
  connection: ClientConnection,
  request: Buffer,
): Promise<void> {
  const route = state.cancelRoutes.find(request);
  if (!route) {
    state.counters.cancelsDropped++;
  } else {
    state.counters.cancelsForwarded++;
    // Delivered before the client hears back, as from PostgreSQL itself: libpq waits for the close,
    // so that its next query cannot be the one cancelled.
    await state.connector.cancel(route, request).catch((error: Error) => {
      state.log({
        level: 'warn',
        event: 'cancel_failed',
        message: `a cancel request did not reach ${route.host}:${route.port}: ${error.message}`,
        fields: { server: `${route.host}:${route.port}`, error: error.message },
      });
    });
  }
  endThenDestroy(connection.client);
}

/**
 * Stops accepting sessions (57P03 from now on; the listener stays open for cancel requests) until the
 * open sessions are over or the grace period is, then closes what is left.
 */
async function closeProxy(
  state: ProxyState,
  server: Server,
  releaseSocket: () => void,
  graceMs: number,
): Promise<{ closedAtDeadline: number }> {
  state.shuttingDown = true;
  const drained = new Promise<void>((resolve) => {
    const check = () => {
      if (state.clients.size === 0) resolve();
    };
    state.onClientClosed.add(check);
    check();
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([drained, deadline]);
  clearTimeout(timer);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const closedAtDeadline = state.clients.size;
  for (const socket of state.sockets) socket.destroy();
  await closed;
  releaseSocket();
  return { closedAtDeadline };
}

/**
 * What the proxy asks of a client before it logs in for it: TLS from the network when it offers TLS,
 * the local password when it has one, and its own role. Throws a LoginRefusal for the client.
 */
async function checkClient(
  connection: ClientConnection,
  startup: { parameters: Record<string, string>; encrypted: boolean },
  origin: { peer: string; local: boolean },
  options: ProxyOptions,
): Promise<void> {
  const { user } = startup.parameters;
  if (options.localTls && !startup.encrypted && !origin.local) {
    throw refusal(
      '28000',
      `pg-passwordless proxy: connections from ${origin.peer} must use TLS`,
      'loginsRejected',
      'Connect with sslmode=verify-full and sslrootcert=<the CA of the proxy’s certificate> (or sslmode=require).',
    );
  }
  // The local password comes first: without it, not even the proxy's role is told.
  if (options.localPassword !== undefined) {
    connection.client.write(authenticationCleartextPassword());
    const sent = await readPassword(connection.reader, MAX_LOCAL_PASSWORD_BYTES);
    if (!localPasswordMatches(sent, options.localPassword)) {
      throw refusal(
        '28P01',
        `password authentication failed for user "${user}"`,
        'loginsRejected',
        'This proxy wants the password from its --local-password-file.',
      );
    }
  }
  if (user !== options.upstream.user) {
    throw refusal(
      '28000',
      `pg-passwordless proxy: this proxy logs in as role "${options.upstream.user}" only, not "${user}"`,
      'loginsRejected',
      `Connect as user "${options.upstream.user}" (psql -U ${options.upstream.user}).`,
    );
  }
}

/**
 * Listens on TCP, or on a Unix socket that only this user may use (under a lock file; a stale socket
 * file is replaced). Returns what releases the lock once the listener is closed.
 */
async function listen(server: Server, address: ListenAddress): Promise<() => void> {
  if (address.kind === 'tcp') {
    await listenOn(server, address);
    return () => {};
  }
  const release = lockSocketPath(address.path);
  try {
    await removeStaleSocket(address.path);
    await listenOn(server, address);
    return release;
  } catch (error) {
    release();
    throw error;
  }
}

async function listenOn(server: Server, address: ListenAddress): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(
        new PasswordlessError(
          'CONFIG_INVALID',
          `Cannot listen on ${describeListenAddress(address)}: ${error.message}.`,
          {
            hint:
              error.code === 'EADDRINUSE'
                ? 'Another server uses that port (a local PostgreSQL on 5432?): pick another with --listen 127.0.0.1:6432.'
                : 'Check the address and that this user may listen there.',
            cause: error,
          },
        ),
      );
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    if (address.kind === 'unix') {
      // Whoever can connect logs in as the workload: the socket is this user's alone from its first
      // moment (bound under umask 177, synchronously inside listen()), whatever the umask was.
      const umask = process.umask(0o177);
      server.listen({ path: address.path }, () => {
        chmodSync(address.path, 0o600);
        onListening();
      });
      process.umask(umask);
    } else {
      server.listen(address.port, address.host, onListening);
    }
  });
}

/**
 * Removes a socket file left by a proxy that was killed: only a socket, and only when connecting to it
 * is refused (nobody listens). Anything else at that path is reported, not removed.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  const probe = isSocket ? await probeSocket(path) : 'not a socket';
  if (probe === 'ECONNREFUSED') {
    unlinkSync(path);
    return;
  }
  throw new PasswordlessError(
    'CONFIG_INVALID',
    probe === 'listening'
      ? `Something already listens on ${path}.`
      : `Cannot use ${path}: ${probe === 'not a socket' ? 'a file that is not a socket is there' : probe}.`,
    { hint: 'Stop it, or pick another folder or --unix-port.' },
  );
}

function probeSocket(path: string): Promise<string> {
  return new Promise((resolve) => {
    const probe = netConnect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve('listening');
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A limit from the options: a whole number of at least 1, else CONFIG_INVALID. */
function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (Number.isInteger(value) && value >= 1) return value;
  throw new PasswordlessError(
    'CONFIG_INVALID',
    `${name} must be a whole number of at least 1, not ${value}.`,
    {
      hint: `Leave ${name} out for its default, ${fallback}.`,
    },
  );
}

function describePeer(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a local socket';
}
