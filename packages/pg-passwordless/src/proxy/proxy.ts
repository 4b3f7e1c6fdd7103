import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PasswordlessError } from '../core/errors.ts';
import {
  acceptStartup,
  authenticationCleartextPassword,
  type ClientConnection,
  endThenDestroy,
  errorFields,
  LoginRefusal,
  MAX_STARTUP_LENGTH,
  pipeSession,
  readPassword,
  refusal,
  serveLogin,
} from '../wire/index.ts';
import { CancelRoutes } from './cancel-routes.ts';
import type { ListenAddress } from './listen-address.ts';
import { localPasswordMatches } from './local-password.ts';
import { type Upstream, UpstreamConnector } from './upstream.ts';

export interface ProxyOptions {
  listen: ListenAddress;
  upstream: Upstream;
  /** When set, local clients must send it as their password; without it they send none. */
  localPassword?: string | undefined;
  /** Longest a client may take to log in (PostgreSQL's authentication_timeout). Default 15 s. */
  handshakeTimeoutMs?: number;
  /** Client connections held at once; more are refused by the listener. Default 1000. */
  maxConnections?: number;
  /** One line per event worth a log (a refused login, a shutdown); never a token. */
  log?: (line: string) => void;
}

export interface ProxyStats {
  connections: number;
  /** Client connections open now (logging in or in a session). */
  active: number;
  sessions: number;
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
  /**
   * Stops accepting, lets open sessions finish for up to `graceMs`, then closes what is left.
   * Resolves with how many sessions were still open when the grace period ended.
   */
  close(graceMs?: number): Promise<{ closedAtDeadline: number }>;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_CONNECTIONS = 1_000;
/** Local passwords are short secrets; a longer password packet is refused before it is read. */
const MAX_LOCAL_PASSWORD_BYTES = 1_024;

/**
 * A local PostgreSQL endpoint for tools that take only a URL: each client connection gets its own
 * upstream connection, logged in with the current token over verified TLS, then bytes pass through
 * both ways untouched until either side closes.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const log = options.log ?? (() => {});
  const connector = new UpstreamConnector(options.upstream);
  const cancelRoutes = new CancelRoutes();
  const counters = {
    connections: 0,
    active: 0,
    sessions: 0,
    loginsRejected: 0,
    protocolErrors: 0,
    handshakeTimeouts: 0,
    cancelsForwarded: 0,
    cancelsDropped: 0,
  };
  const sockets = new Set<Duplex>();
  const clients = new Set<Socket>();
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const login = async (connection: ClientConnection): Promise<void> => {
    const startup = await acceptStartup(connection, {});
    if (startup.kind === 'cancel') {
      endThenDestroy(connection.client);
      const route = cancelRoutes.find(startup.raw);
      if (!route) {
        counters.cancelsDropped++;
        return;
      }
      counters.cancelsForwarded++;
      await connector.cancel(route, startup.raw).catch((error: Error) => {
        log(`a cancel request did not reach ${route.host}:${route.port}: ${error.message}`);
      });
      return;
    }
    const { user } = startup.parameters;
    if (user !== options.upstream.user) {
      throw refusal(
        '28000',
        `pg-passwordless proxy: this proxy logs in as role "${options.upstream.user}" only, not "${user}"`,
        'loginsRejected',
        `Connect as user "${options.upstream.user}" (psql -U ${options.upstream.user}).`,
      );
    }
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
    const session = await connector.open(startup.parameters, connection.scope);
    if (connection.scope.closed) throw new Error('the client left during the login');
    counters.sessions++;
    if (session.backendKey) {
      const forget = cancelRoutes.add(session.backendKey, session.remote);
      session.socket.once('close', forget);
    }
    pipeSession({
      client: connection.client,
      clientReader: connection.reader,
      server: session.socket,
      serverReader: session.reader,
      greeting: session.greeting,
      scope: connection.scope,
    });
  };

  const server: Server = createServer((socket) => {
    counters.connections++;
    counters.active++;
    clients.add(socket);
    socket.once('close', () => {
      counters.active--;
      clients.delete(socket);
    });
    void serveLogin(
      socket,
      {
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
        largestPacket: MAX_STARTUP_LENGTH,
        track,
        count: (outcome) => counters[outcome]++,
      },
      async (connection) => {
        try {
          await login(connection);
        } catch (error) {
          if (error instanceof LoginRefusal) {
            const fields = errorFields(error.response.subarray(5));
            log(`refused a login from ${describePeer(socket)}: ${fields.C} ${fields.M}`);
          }
          throw error;
        }
      },
    );
  });
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  await listen(server, options.listen);
  const address: ListenAddress =
    options.listen.kind === 'tcp'
      ? { ...options.listen, port: (server.address() as AddressInfo).port }
      : options.listen;

  return {
    address,
    stats: () => ({ ...counters, tokenRenewals: connector.renewals }),
    close: async (graceMs = 0) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drained = new Promise<void>((resolve) => {
        if (clients.size === 0) return resolve();
        for (const client of clients) client.once('close', () => clients.size === 0 && resolve());
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
      const closedAtDeadline = clients.size;
      for (const socket of sockets) socket.destroy();
      await closed;
      return { closedAtDeadline };
    },
  };
}

/** Listens on TCP, or on a Unix socket that only this user may use (a stale socket file is replaced). */
async function listen(server: Server, address: ListenAddress): Promise<void> {
  if (address.kind === 'unix' && existsSync(address.path)) {
    if (await isServing(address.path)) {
      throw new PasswordlessError('CONFIG_INVALID', `Something already listens on ${address.path}.`, {
        hint: 'Stop it, or pick another folder or port.',
      });
    }
    unlinkSync(address.path); // left behind by a process that was killed
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PasswordlessError('CONFIG_INVALID', `Cannot listen on ${describe(address)}: ${error.message}.`, {
          hint:
            error.code === 'EADDRINUSE'
              ? 'Another server uses that port (a local PostgreSQL on 5432?): pick another with --listen 127.0.0.1:6432.'
              : 'Check the address and that this user may listen there.',
          cause: error,
        }),
      ),
    );
    if (address.kind === 'unix') {
      // Whoever can connect logs in as the workload: the socket is this user's alone from its first
      // moment (created under umask 177), whatever the umask was.
      const umask = process.umask(0o177);
      server.listen({ path: address.path }, () => {
        chmodSync(address.path, 0o600);
        resolve();
      });
      process.umask(umask);
    } else {
      server.listen(address.port, address.host, resolve);
    }
  });
}

function isServing(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = netConnect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function describe(address: ListenAddress): string {
  return address.kind === 'unix' ? address.path : `${address.host}:${address.port}`;
}

function describePeer(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a local socket';
}
