import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasswordlessError } from '../core/errors.ts';
import type { TelemetryLabels } from '../core/telemetry/telemetry.ts';
import type { EventLog, OpsEvent } from '../ops/event-log.ts';
import { describeListenAddress, type ListenAddress } from '../proxy/listen-address.ts';
import { type ProxyStats, type RunningProxy, startProxy } from '../proxy/proxy.ts';
import type { Upstream, UpstreamLoginOutcome } from '../proxy/upstream.ts';
import { type PgbouncerSettings, pgbouncerFiles } from './pgbouncer-config.ts';
import { type RunningPgbouncer, startPgbouncer } from './pgbouncer-process.ts';
import type { OsUser } from './run-as.ts';

export interface PoolOptions
  extends Pick<PgbouncerSettings, 'poolMode' | 'poolSize' | 'maxClientConn' | 'serverLifetimeSeconds'> {
  /** The cloud server, the role, its TLS and the token cache: what the pool's proxy logs in with. */
  upstream: Upstream;
  /** Where clients connect (TCP port 0: a free port, chosen before PgBouncer starts). */
  listen: ListenAddress;
  localPassword: string | undefined;
  /** PEM files already checked (readLocalTls); PgBouncer gets copies in its private folder. */
  localTls: { certFile: string; keyFile: string } | undefined;
  pgbouncer: string;
  /** The user PgBouncer runs as when the pool runs as root. */
  runAs: OsUser | undefined;
  /**
   * Each event worth a log, never a token: the server-side proxy's own (its message after
   * `server login: `), and each of PgBouncer's lines as `pgbouncer` (after `pgbouncer: `).
   */
  log: EventLog;
  /** The `cloud` and `plugin` attributes of the server logins' metrics (the token cache's labels). */
  labels?: TelemetryLabels | undefined;
}

/** A running pool: PgBouncer for the clients, the pool's proxy for PgBouncer's server logins. */
export interface RunningPool {
  /** Where clients connect (the port chosen, when 0 was asked for). */
  address: ListenAddress;
  /** PgBouncer's private folder (0700): its configuration, and the proxy's socket; no token. */
  folder: string;
  pgbouncerPid: number;
  /** Resolves when PgBouncer has ended, on its own or by close(). */
  ended: Promise<void>;
  /** Where PgBouncer logs in: the proxy's Unix socket in the private folder. */
  serverAddress: ListenAddress;
  /** The proxy's counters: its sessions are PgBouncer's server logins. */
  serverStats(): ProxyStats;
  /** How the last of PgBouncer's server logins that ran its course ended (readiness reads it). */
  serverLastLogin(): UpstreamLoginOutcome | undefined;
  /** PgBouncer's safe shutdown for up to `graceMs`, then its fast exit; then the proxy closes. */
  close(graceMs: number): Promise<{ cutAtDeadline: boolean }>;
  /** PgBouncer's fast exit now (a second signal): a close() under way resolves once it has ended. */
  stopNow(): void;
}

/** The Unix socket port of the pool's proxy, in the private folder (only its name: nothing else is there). */
const SERVER_SOCKET_PORT = 5432;

/**
 * Starts the pool: a private folder, the pool's proxy on a Unix socket in it (each of PgBouncer's
 * server connections becomes one upstream login with the current token over verified TLS), then
 * PgBouncer, configured to log in there, listening where clients connect. The token never reaches
 * PgBouncer, its files or its arguments.
 */
export async function startPool(options: PoolOptions): Promise<RunningPool> {
  const listen = await checkedListenAddress(options.listen);
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-pool-'));
  let proxy: RunningProxy | undefined;
  try {
    chmodSync(folder, 0o700);
    const server = { kind: 'unix' as const, folder, port: SERVER_SOCKET_PORT };
    proxy = await startProxy({
      listen: { ...server, path: join(folder, `.s.PGSQL.${SERVER_SOCKET_PORT}`) },
      upstream: options.upstream,
      log: (event) => options.log({ ...event, message: `server login: ${event.message}` }),
      labels: options.labels,
    });
    const iniPath = writeFiles(folder, { ...options, listen, folder, server, role: options.upstream.user });
    if (options.runAs) handOver(folder, options.runAs);
    const pgbouncer = await startPgbouncer({
      binary: options.pgbouncer,
      iniPath,
      folder,
      listen,
      runAs: options.runAs?.name,
      log: (line) => options.log(pgbouncerEvent(line)),
    });
    return runningPool(listen, folder, pgbouncer, proxy);
  } catch (error) {
    await proxy?.close(0);
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

function runningPool(
  address: ListenAddress,
  folder: string,
  pgbouncer: RunningPgbouncer,
  proxy: RunningProxy,
): RunningPool {
  return {
    address,
    folder,
    pgbouncerPid: pgbouncer.pid,
    ended: pgbouncer.exited,
    serverAddress: proxy.address,
    serverStats: () => proxy.stats(),
    serverLastLogin: () => proxy.lastLogin(),
    async close(graceMs) {
      const result = await pgbouncer.shutdown(graceMs);
      // PgBouncer is gone, and its server connections with it: the proxy has nothing left to wait for.
      await proxy.close(0);
      return result;
    },
    stopNow: () => void pgbouncer.stop(),
  };
}

/** One of PgBouncer's lines (`LOG ...`, `WARNING ...`, `ERROR ...`) as an event of the level it names. */
function pgbouncerEvent(line: string): OpsEvent {
  const severity = /^[A-Z]+/.exec(line)?.[0];
  const level =
    severity === 'WARNING' ? 'warn' : severity === 'ERROR' || severity === 'FATAL' ? 'error' : 'info';
  return { level, event: 'pgbouncer', message: `pgbouncer: ${line}` };
}

/** PgBouncer's files, 0600 each: its configuration, and copies of the local TLS certificate and key. */
function writeFiles(folder: string, settings: PgbouncerSettings & Pick<PoolOptions, 'localTls'>): string {
  const localTls = settings.localTls && {
    certFile: join(folder, 'client-tls.crt'),
    keyFile: join(folder, 'client-tls.key'),
  };
  if (settings.localTls && localTls) {
    copyFileSync(settings.localTls.certFile, localTls.certFile);
    copyFileSync(settings.localTls.keyFile, localTls.keyFile);
    chmodSync(localTls.certFile, 0o600);
    chmodSync(localTls.keyFile, 0o600);
  }
  for (const [name, text] of Object.entries(pgbouncerFiles({ ...settings, localTls }))) {
    writeFileSync(join(folder, name), text, { mode: 0o600, flag: 'wx' });
  }
  return join(folder, 'pgbouncer.ini');
}

/** Hands the private folder and everything in it to PgBouncer's user (the pool runs as root). */
function handOver(folder: string, user: OsUser): void {
  chownSync(folder, user.uid, user.gid);
  for (const name of readdirSync(folder)) chownSync(join(folder, name), user.uid, user.gid);
}

/**
 * The address PgBouncer will listen at, checked first: PgBouncer does not say whether a TCP port is
 * taken before it exits, and a connection that succeeds there would be another server's. Port 0 becomes
 * a free port (the kernel's choice, released just before PgBouncer binds it).
 */
async function checkedListenAddress(listen: ListenAddress): Promise<ListenAddress> {
  if (listen.kind === 'unix') {
    if (await socketAccepts(listen.path)) {
      throw new PasswordlessError('CONFIG_INVALID', `Something already listens on ${listen.path}.`, {
        hint: 'Stop it, or pick another folder or --unix-port.',
      });
    }
    return listen;
  }
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PasswordlessError(
          'CONFIG_INVALID',
          `Cannot listen on ${describeListenAddress(listen)}: ${error.message}.`,
          {
            hint:
              error.code === 'EADDRINUSE'
                ? 'Another server uses that port: pick another with --listen 127.0.0.1:6433.'
                : 'Check the address and that this user may listen there.',
            cause: error,
          },
        ),
      ),
    );
    probe.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return { ...listen, port };
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
