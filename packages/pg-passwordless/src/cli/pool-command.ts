import { PasswordlessError } from '../core/errors.ts';
import { commandMetrics, serveCommandEndpoints } from '../ops/command-endpoints.ts';
import { createEventLog, type EventLog, LOG_FORMATS, type LogFormat } from '../ops/event-log.ts';
import { parseHttpAddress } from '../ops/http-address.ts';
import type { ProxyMetricsSource } from '../ops/proxy-metrics.ts';
import { createServiceHealth, type ServiceHealth } from '../ops/service-health.ts';
import { reportingFailures } from '../ops/start-failure.ts';
import { createTokenHealth, type TokenHealth } from '../ops/token-health.ts';
import { findPgbouncer } from '../pool/pgbouncer-binary.ts';
import type { PoolMode } from '../pool/pgbouncer-config.ts';
import { type RunningPool, startPool } from '../pool/pool.ts';
import { type OsUser, pgbouncerUser } from '../pool/run-as.ts';
import { poolServerLifetime } from '../pool/server-lifetime.ts';
import {
  describeListenAddress,
  isLoopback,
  type ListenAddress,
  parseListenAddress,
} from '../proxy/listen-address.ts';
import { readLocalPassword } from '../proxy/local-password.ts';
import { readLocalTls } from '../proxy/local-tls.ts';
import { chosenCloud, cloudOptionHelp } from './cloud-option.ts';
import { type CliConnection, resolveCliConnection } from './connection.ts';
import { defineCommand } from './frame/command.ts';
import type { Io } from './frame/io.ts';
import type { ParsedArgs } from './frame/parsed-args.ts';
import { OPS_OPTIONS_HELP } from './proxy-command.ts';
import { localUrl, upstreamFor } from './proxy-service.ts';

const POOL_HELP = (cloudLine: string) => `Usage: pg-passwordless pool [URL] [options]

A pooler for many clients and few server logins: PgBouncer, run as this command's child, in front of
the server (URL, else DATABASE_URL, else PGHOST and friends). Clients log in to PgBouncer locally; each
of PgBouncer's server connections logs in through this command with a current token over verified TLS
(the library's settings, plugins and token cache), and stays open across token rotations until
--server-lifetime retires it. No client, and nothing of PgBouncer's, ever sees the token.

  pg-passwordless pool postgresql://orders-api@db.example.com/orders &
  psql "postgresql://orders-api@127.0.0.1:6432/orders?sslmode=disable"

Clients connect as the URL's role; anyone who can connect works as this workload's identity: it
listens on loopback by default, and on another address only with a local password.

Options:
  --listen HOST:PORT          where clients connect: HOST:PORT or PORT (on 127.0.0.1); default
                              127.0.0.1:6432 (0: a free port)
  --unix-socket DIR           a Unix socket DIR/.s.PGSQL.<port> (mode 0600) instead of TCP
  --unix-port PORT            the port in the Unix socket's name (default 6432)
  --pool-mode MODE            session (default: every client feature works) or transaction (a server
                              connection per transaction: far fewer connections, but no session state
                              across transactions and, in PgBouncer 1.18, no named prepared statements:
                              pg without \`name\`, postgres.js with prepare: false)
  --pool-size N               server connections per database (default 20)
  --max-client-conn N         client connections at once (default 100)
  --server-lifetime SECONDS   retire a server connection once this old, between transactions (default
                              1800, kept under the server's session cap where the cloud has one)
  --local-password-file FILE  clients must send the first line of FILE (mode 0600) as their password
                              (SCRAM); required to listen on an address that is not loopback
  --local-tls-cert FILE       offer TLS to clients with this PEM certificate (chain) ...
  --local-tls-key FILE        ... and its PEM key (mode 0600); clients from other hosts must then use it
  --shutdown-grace SECONDS    on SIGTERM or SIGINT, PgBouncer's safe shutdown: open transactions (in
                              session mode, sessions) get this long to finish (default 10); a second
                              signal ends them at once
  --pgbouncer-user NAME       when started as root: the user PgBouncer runs as (default postgres)
${OPS_OPTIONS_HELP}
${cloudLine}
  -h, --help                  show this help`;

/** What `pool`'s flags say, read and checked. */
interface PoolArgs {
  url: string | undefined;
  listen: ListenAddress;
  poolMode: PoolMode;
  poolSize: number;
  maxClientConn: number;
  serverLifetimeSeconds: number | undefined;
  localPasswordFile: string | undefined;
  localTls: { certFile: string; keyFile: string } | undefined;
  shutdownGraceMs: number;
  pgbouncerUser: string | undefined;
  cloud: string | undefined;
  /** Where /metrics and the probes are served; undefined: not at all. */
  httpAddress: { host: string; port: number } | undefined;
  logFormat: LogFormat;
}

/**
 * `pg-passwordless pool [URL] [--listen ADDR | --unix-socket DIR] [--pool-mode MODE] ...`: serves until
 * SIGTERM or SIGINT, then shuts PgBouncer down within the grace period. Resolves with the exit code.
 *
 * @example
 * console.log(poolCommand.name, poolCommand.positionals); // pool connection
 */
export const poolCommand = defineCommand({
  name: 'pool',
  summary: 'PgBouncer for many clients, each server login with a current token (fleets, sidecars)',
  options: {
    listen: { type: 'string' },
    'unix-socket': { type: 'string' },
    'unix-port': { type: 'string' },
    'pool-mode': { type: 'string' },
    'pool-size': { type: 'string' },
    'max-client-conn': { type: 'string' },
    'server-lifetime': { type: 'string' },
    'local-password-file': { type: 'string' },
    'local-tls-cert': { type: 'string' },
    'local-tls-key': { type: 'string' },
    'shutdown-grace': { type: 'string' },
    'pgbouncer-user': { type: 'string' },
    'http-address': { type: 'string' },
    'log-format': { type: 'string' },
    cloud: { type: 'string' },
  },
  positionals: 'connection',
  help: async (io) => POOL_HELP(await cloudOptionHelp(io.env, 28)),
  run: async (args, io) => {
    // Read first, so that every later failure is written the way the log is.
    const format = args.oneOf('log-format', LOG_FORMATS) ?? 'text';
    return reportingFailures({ format, stream: io.stderr, prefix: POOL_LOG_PREFIX }, async () =>
      serve(await readPoolArgs(args, io), io),
    );
  },
});

async function readPoolArgs(args: ParsedArgs, io: Io): Promise<PoolArgs> {
  const certFile = args.text('local-tls-cert');
  const keyFile = args.text('local-tls-key');
  const httpAddress = args.text('http-address');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw args.error(
      '--local-tls-cert and --local-tls-key go together.',
      'Pass both: the PEM certificate clients see and its private key.',
    );
  }
  return {
    url: args.connection,
    listen: readListen(args),
    poolMode: args.oneOf('pool-mode', ['session', 'transaction'] as const) ?? 'session',
    poolSize: args.wholeNumber('pool-size', { min: 1, max: 10_000 }) ?? 20,
    maxClientConn: args.wholeNumber('max-client-conn', { min: 1, max: 1_000_000 }) ?? 100,
    // 0 would make PgBouncer close a server connection after its first use.
    serverLifetimeSeconds: args.wholeNumber('server-lifetime', { min: 1, max: 31_536_000 }),
    localPasswordFile: args.text('local-password-file'),
    localTls: certFile && keyFile ? { certFile, keyFile } : undefined,
    shutdownGraceMs: (args.decimal('shutdown-grace', { min: 0, max: 86_400 }) ?? 10) * 1_000,
    pgbouncerUser: args.text('pgbouncer-user'),
    cloud: await chosenCloud(args, io.env),
    httpAddress: httpAddress === undefined ? undefined : parseHttpAddress(httpAddress),
    logFormat: args.oneOf('log-format', LOG_FORMATS) ?? 'text',
  };
}

/** `--listen HOST:PORT` (default 127.0.0.1:6432) or `--unix-socket DIR`, not both. */
function readListen(args: ParsedArgs): ListenAddress {
  const tcp = args.text('listen');
  const folder = args.text('unix-socket');
  if (tcp !== undefined && folder !== undefined)
    throw args.error('--listen and --unix-socket go one at a time.', 'Pass one: TCP, or a Unix socket.');
  if (folder !== undefined) {
    if (!folder.startsWith('/'))
      throw args.error('--unix-socket takes an absolute folder.', 'For example --unix-socket /run/pool.');
    return parseListenAddress(folder, args.wholeNumber('unix-port', { min: 1, max: 65_535 }) ?? 6432);
  }
  const listen = parseListenAddress(tcp ?? '127.0.0.1:6432');
  if (listen.kind === 'unix')
    throw args.error(
      '--listen takes HOST:PORT or PORT.',
      `For a Unix socket: --unix-socket ${listen.folder}.`,
    );
  return listen;
}

/** What a text line of the pool starts with. */
const POOL_LOG_PREFIX = 'pg-passwordless pool';

/** What the pool serves with: its flags, its logs, the server's connection and its token's health. */
interface Service {
  options: PoolArgs;
  io: Io;
  /** Events on stderr (PgBouncer's lines, refused server logins, shutdown); what clients need on stdout. */
  log: EventLog;
  out: EventLog;
  localPassword: string | undefined;
  connection: CliConnection;
  token: TokenHealth;
  /** `orders-api@db.example.com:5432/orders`. */
  name: string;
}

/**
 * Serves until SIGTERM or SIGINT: the health and metrics endpoints first (a startup probe is answered
 * while the first token comes), then a first token (a pool that cannot get one says so at start, not at
 * its first server login), then PgBouncer behind the pool's own proxy.
 */
async function serve(options: PoolArgs, io: Io): Promise<number> {
  const pgbouncer = findPgbouncer(io.env);
  const runAs = pgbouncerUser(options.pgbouncerUser);
  const service = await prepare(options, io);
  let pool: RunningPool | undefined;
  const health = createServiceHealth([
    { name: service.name, token: service.token, lastLogin: () => pool?.serverLastLogin() },
  ]);
  const endpoints =
    options.httpAddress &&
    (await serveCommandEndpoints({
      address: options.httpAddress,
      probes: health.probes,
      metrics: commandMetrics(() => (pool ? [serverListener(pool)] : [])),
      log: service.log,
      out: service.out,
    }));
  try {
    await service.token.getToken();
    pool = await startServing(service, pgbouncer.path, runAs);
  } catch (error) {
    await endpoints?.close();
    service.token.close();
    throw error;
  }
  announce(service, pool, pgbouncer.version, runAs?.name);
  health.started();
  const code = await waitForShutdown(pool, options.shutdownGraceMs, service.log, health);
  await endpoints?.close();
  service.token.close();
  return code;
}

/** The logs, the local password and TLS checked, and the server's connection resolved. */
async function prepare(options: PoolArgs, io: Io): Promise<Service> {
  const localPassword = options.localPasswordFile ? readLocalPassword(options.localPasswordFile) : undefined;
  // Checked here as for the proxy: a key open to others, or one of another certificate, stops the start.
  if (options.localTls) readLocalTls(options.localTls.certFile, options.localTls.keyFile);
  const { listen } = options;
  if (listen.kind === 'tcp' && localPassword === undefined && !(await isLoopback(listen.host))) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `Refusing to listen on ${listen.host} without a local password: anyone who reaches it would work as this identity.`,
      {
        hint: 'Listen on loopback (--listen 127.0.0.1:6432), or add --local-password-file FILE (mode 0600).',
      },
    );
  }
  const connection = await resolveCliConnection({ url: options.url, cloud: options.cloud, env: io.env });
  const { host, port, database } = connection.target;
  const logOn = (stream: NodeJS.WritableStream) =>
    createEventLog({ format: options.logFormat, stream, prefix: POOL_LOG_PREFIX });
  return {
    options,
    io,
    log: logOn(io.stderr),
    out: logOn(io.stdout),
    localPassword,
    connection,
    // Its token function is the one the server logins use, so readiness sees how each fetch went.
    token: createTokenHealth({ getToken: connection.getToken, handle: connection.token }),
    name: `${connection.user}@${host}:${port}/${database ?? connection.user}`,
  };
}

function startServing(service: Service, pgbouncer: string, runAs: OsUser | undefined): Promise<RunningPool> {
  const { options, connection } = service;
  return startPool({
    upstream: { ...upstreamFor(connection), getToken: service.token.getToken },
    labels: connection.token?.labels,
    listen: options.listen,
    localPassword: service.localPassword,
    localTls: options.localTls,
    poolMode: options.poolMode,
    poolSize: options.poolSize,
    maxClientConn: options.maxClientConn,
    serverLifetimeSeconds: poolServerLifetime(options.serverLifetimeSeconds, connection.sessionCapSeconds),
    pgbouncer,
    runAs,
    log: service.log,
  });
}

/**
 * The pool's server-side proxy for `/metrics`: its sessions and logins are PgBouncer's server
 * connections, by the address of its Unix socket.
 */
function serverListener(pool: RunningPool): ProxyMetricsSource {
  return { listen: describeListenAddress(pool.serverAddress), stats: () => pool.serverStats() };
}

/** Where clients connect and the URL they use (in text, on a line of its own as it always was). */
function announce(service: Service, pool: RunningPool, version: string, runAs: string | undefined): void {
  const { options, io, connection } = service;
  const where = describeListenAddress(pool.address);
  const url = localUrl(pool.address, connection.user, connection.target.database, {
    tls: options.localTls !== undefined,
  });
  service.out({
    level: 'info',
    event: 'pool_started',
    message: `PgBouncer ${version}, ${options.poolMode} pooling, on ${where} for ${service.name}`,
    fields: {
      pgbouncer: version,
      poolMode: options.poolMode,
      listen: where,
      target: service.name,
      connect: url,
    },
  });
  if (options.logFormat === 'text') io.stdout.write(`connect with: ${url}\n`);
  service.log({
    level: 'info',
    event: 'pgbouncer_started',
    message: `PgBouncer (PID ${pool.pgbouncerPid}${runAs ? `, as ${runAs}` : ''}) and its files: ${pool.folder}`,
    fields: { pid: pool.pgbouncerPid, user: runAs, folder: pool.folder },
  });
  if (options.poolMode === 'transaction') {
    service.log({ level: 'warn', event: 'transaction_mode', message: TRANSACTION_MODE_WARNING });
  }
}

const TRANSACTION_MODE_WARNING =
  'transaction pooling: session state (SET, LISTEN, advisory locks, temporary tables) does not outlive a transaction, ' +
  'and PgBouncer 1.18 does not carry named prepared statements from one server connection to another: ' +
  'use pg without `name` in queries, postgres.js with prepare: false, Prisma through @prisma/adapter-pg';

/**
 * The first SIGTERM or SIGINT: readiness fails and PgBouncer's safe shutdown gives open transactions
 * the grace period; a second signal is its fast exit. PgBouncer ending on its own stops the pool too.
 */
function waitForShutdown(
  pool: RunningPool,
  graceMs: number,
  log: EventLog,
  health: ServiceHealth,
): Promise<number> {
  return new Promise((resolve) => {
    let closing = false;
    const finish = (code: number) => {
      for (const name of SIGNALS) process.removeListener(name, onSignal);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        log({
          level: 'warn',
          event: 'shutdown_now',
          message: `${signal} again: PgBouncer's fast exit, open sessions end now`,
          fields: { signal },
        });
        pool.stopNow();
        return;
      }
      closing = true;
      health.draining();
      log({
        level: 'info',
        event: 'shutdown_started',
        message: `${signal}: PgBouncer's safe shutdown, open transactions get ${graceMs / 1000} s to finish`,
        fields: { signal, graceSeconds: graceMs / 1000 },
      });
      void pool.close(graceMs).then(({ cutAtDeadline }) => {
        if (cutAtDeadline) {
          log({
            level: 'warn',
            event: 'closed_at_deadline',
            message: 'the grace period ended: PgBouncer closed what was still open',
          });
        }
        finish(0);
      });
    };
    void pool.ended.then(async () => {
      if (closing) return;
      closing = true;
      health.draining();
      log({
        level: 'error',
        event: 'pgbouncer_ended',
        message: 'PgBouncer ended on its own (its lines above say why); stopping',
      });
      await pool.close(0);
      finish(1);
    });
    for (const name of SIGNALS) process.on(name, onSignal);
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
