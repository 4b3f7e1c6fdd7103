import { join } from 'node:path';
import { PasswordlessError } from '../core/errors.ts';
import type { ListenAddress } from '../proxy/listen-address.ts';

/** How PgBouncer hands server connections to clients: for a whole client session, or per transaction. */
export type PoolMode = 'session' | 'transaction';

/** What the pool's PgBouncer is told: where clients reach it, whom it lets in, and where its servers are. */
export interface PgbouncerSettings {
  /** The private folder (0700) that holds PgBouncer's files. */
  folder: string;
  /** The pool's own proxy, on a Unix socket in the private folder: PgBouncer's only server. */
  server: { folder: string; port: number };
  /** Where clients connect: TCP, or a Unix socket in a folder (PgBouncer's unix_socket_dir). */
  listen: ListenAddress;
  /** The one role clients log in as (the proxy's role): PgBouncer knows no other user. */
  role: string;
  /** When set, clients must send it (SCRAM-SHA-256; PgBouncer also takes md5 and plain text). */
  localPassword: string | undefined;
  /** When set, PgBouncer offers TLS with these files, and clients from the network must use it. */
  localTls: { certFile: string; keyFile: string } | undefined;
  poolMode: PoolMode;
  poolSize: number;
  maxClientConn: number;
  serverLifetimeSeconds: number;
}

/** PgBouncer's files, by name in the private folder. None of them holds a token: the proxy logs in. */
export interface PgbouncerFiles {
  'pgbouncer.ini': string;
  /** auth_file: the role, with the local password or none. */
  'users.txt': string;
  /** auth_hba_file: who may log in from where, and how. */
  'hba.conf': string;
}

/**
 * PgBouncer's configuration for the pool. Its one server is the pool's proxy on a private Unix socket
 * (server_tls_sslmode disable: the socket never leaves the machine, and the proxy logs in to the cloud
 * server over verified TLS with the current token). Its admin console has no admin_users and no
 * stats_users, so no client gets in over TCP; the Unix socket for clients, when there is one, is 0600.
 * Connections are logged only when something fails (log_connections, log_disconnections and log_stats
 * off), and startup parameters other than extra_float_digits (JDBC's) are refused, not ignored.
 *
 * @example
 * const files = pgbouncerFiles({
 *   folder: '/tmp/pool-x',
 *   server: { folder: '/tmp/pool-x', port: 5432 },
 *   listen: { kind: 'tcp', host: '127.0.0.1', port: 6432 },
 *   role: 'orders-api',
 *   localPassword: undefined,
 *   localTls: undefined,
 *   poolMode: 'session',
 *   poolSize: 20,
 *   maxClientConn: 100,
 *   serverLifetimeSeconds: 1800,
 * });
 * console.log(files['pgbouncer.ini'].split('\n')[1]); // * = host='/tmp/pool-x' port=5432
 * console.log(files['users.txt']); // "orders-api" ""
 * console.log(files['hba.conf'].split('\n')[0]); // local all all trust
 */
export function pgbouncerFiles(settings: PgbouncerSettings): PgbouncerFiles {
  const { folder, listen, server } = settings;
  for (const [what, value] of [
    ['the role', settings.role],
    ['the socket folder', listen.kind === 'unix' ? listen.folder : ''],
    ['the private folder', folder],
  ] as const) {
    refuseControlCharacters(what, value);
  }
  const lines = [
    '[databases]',
    `* = host=${connectionValue(server.folder)} port=${server.port}`,
    '[pgbouncer]',
    ...listenLines(listen),
    'auth_type = hba',
    `auth_file = ${join(folder, 'users.txt')}`,
    `auth_hba_file = ${join(folder, 'hba.conf')}`,
    'admin_users =',
    'stats_users =',
    `pool_mode = ${settings.poolMode}`,
    `default_pool_size = ${settings.poolSize}`,
    `max_client_conn = ${settings.maxClientConn}`,
    `server_lifetime = ${settings.serverLifetimeSeconds}`,
    'server_tls_sslmode = disable',
    ...clientTlsLines(settings.localTls),
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
    'log_stats = 0',
    '',
  ];
  return {
    'pgbouncer.ini': lines.join('\n'),
    'users.txt': `${quoted(settings.role)} ${quoted(settings.localPassword ?? '')}\n`,
    'hba.conf': hbaLines(settings).join('\n'),
  };
}

/** TCP on one address (no Unix socket for clients), or a 0600 Unix socket in a folder (no TCP). */
function listenLines(listen: ListenAddress): string[] {
  if (listen.kind === 'unix') {
    return [
      'listen_addr =',
      `listen_port = ${listen.port}`,
      `unix_socket_dir = ${listen.folder}`,
      'unix_socket_mode = 0600',
    ];
  }
  // An empty unix_socket_dir means no Unix socket listener; the server socket is named in [databases].
  return [`listen_addr = ${listen.host}`, `listen_port = ${listen.port}`, 'unix_socket_dir ='];
}

function clientTlsLines(localTls: PgbouncerSettings['localTls']): string[] {
  if (!localTls) return ['client_tls_sslmode = disable'];
  // allow: TLS for the clients that ask; the hba file makes those from the network ask.
  return [
    'client_tls_sslmode = allow',
    `client_tls_cert_file = ${localTls.certFile}`,
    `client_tls_key_file = ${localTls.keyFile}`,
  ];
}

/**
 * The proxy's rules, in pg_hba.conf's words: the local password from everyone when there is one; with
 * local TLS, plain connections only from this machine (the Unix socket, loopback), as the proxy does.
 */
function hbaLines(settings: PgbouncerSettings): string[] {
  const method = settings.localPassword === undefined ? 'trust' : 'scram-sha-256';
  const network = settings.localTls ? 'hostssl' : 'host';
  return [
    `local all all ${method}`,
    `host all all 127.0.0.0/8 ${method}`,
    `host all all ::1/128 ${method}`,
    `${network} all all 0.0.0.0/0 ${method}`,
    `${network} all all ::/0 ${method}`,
    '',
  ];
}

/** A value of a [databases] connection string: single-quoted, a quote doubled, as PgBouncer reads it. */
function connectionValue(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** An auth_file field: double-quoted, a quote doubled. */
function quoted(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** A line break in a value would start a line of PgBouncer's configuration of its own. */
function refuseControlCharacters(what: string, value: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (!/[\u0000-\u001f\u007f]/.test(value)) return;
  throw new PasswordlessError('CONFIG_INVALID', `${what} holds a control character (a line break?).`, {
    hint: 'PgBouncer reads its configuration line by line: name a folder and a role without control characters.',
  });
}
