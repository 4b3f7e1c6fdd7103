import { PasswordlessError } from '../core/errors.ts';
import {
  DEFAULT_LISTEN,
  describeListenAddress,
  isLoopback,
  type ListenAddress,
  parseListenAddress,
} from '../proxy/listen-address.ts';
import { readLocalPassword } from '../proxy/local-password.ts';
import { readLocalTls } from '../proxy/local-tls.ts';
import { type RunningProxy, startProxy } from '../proxy/proxy.ts';
import type { Upstream } from '../proxy/upstream.ts';
import { chosenCloud, cloudOptionHelp } from './cloud-option.ts';
import { type CliConnection, resolveCliConnection } from './connection.ts';
import { defineCommand } from './frame/command.ts';
import type { Io } from './frame/io.ts';
import { type ParsedArgs, parseCommandArgs } from './frame/parsed-args.ts';

const PROXY_HELP = (cloudLine: string) => `Usage: pg-passwordless proxy [URL] [options]

A local PostgreSQL endpoint for tools that keep connections open or cannot run a command first
(pgAdmin, DBeaver, Grafana, Prisma Studio, an app that only takes a URL). Each client connection gets
its own connection to the server (URL, else DATABASE_URL, else PGHOST and friends), logged in with a
current token over verified TLS; then bytes pass through untouched. Tokens come from one cache: a
hundred clients connecting at once cost one identity request.

Clients connect as the URL's role, without TLS to a loopback address (sslmode=disable), or with TLS
when --local-tls-cert is given:

  pg-passwordless proxy postgresql://orders-api@db.example.com/orders &
  psql "postgresql://orders-api@127.0.0.1:5432/orders?sslmode=disable"

Anyone who can connect to the listener works as this workload's identity: it listens on loopback by
default, and on another address only with a local password (and, to encrypt that leg, a certificate).

Options:
  --listen ADDR               where to listen: HOST:PORT, PORT (on 127.0.0.1) or a folder for a Unix
                              socket .s.PGSQL.<port> only this user can open (default ${DEFAULT_LISTEN})
  --unix-port PORT            the port in the Unix socket's name (default 5432)
  --local-password-file FILE  clients must send the first line of FILE (mode 0600) as their password;
                              required to listen on an address that is not loopback
  --local-tls-cert FILE       offer TLS to clients with this PEM certificate (chain) ...
  --local-tls-key FILE        ... and its PEM key (mode 0600); clients from other hosts must then use
                              it (sslmode=verify-full with the certificate's CA); without these the
                              leg to the proxy is not encrypted: keep it on loopback or a private network
  --max-sessions N            sessions at once (default 1000), a login counted from its startup packet
                              on; a client beyond them gets "FATAL: sorry, too many clients already"
                              (53300), as from PostgreSQL at max_connections. Connections that have
                              not sent a startup packet are kept apart (1000 at most, 15 s each; the
                              oldest makes room for a new one), so silent ones cannot lock logins out
  --shutdown-grace SECONDS    on SIGTERM or SIGINT, refuse new sessions and let open ones finish for
                              this long, then close them (default 10; a second signal closes at once)
${cloudLine}
  -h, --help                  show this help`;

/** What `proxy`'s flags say, read and checked. */
export interface ProxyArgs {
  url: string | undefined;
  listen: string;
  unixPort: number;
  localPasswordFile: string | undefined;
  localTlsCert: string | undefined;
  localTlsKey: string | undefined;
  maxSessions: number | undefined;
  shutdownGraceMs: number;
  cloud: string | undefined;
}

/**
 * `pg-passwordless proxy [URL] [--listen ADDR] [--local-password-file FILE] ...`: serves until SIGTERM
 * or SIGINT, then shuts down within the grace period. Resolves with the exit code.
 *
 * @example
 * console.log(proxyCommand.name, Object.keys(proxyCommand.options).length); // proxy 9
 */
export const proxyCommand = defineCommand({
  name: 'proxy',
  summary: 'a local PostgreSQL endpoint that logs each client in with a current token (pgAdmin, ...)',
  options: {
    listen: { type: 'string' },
    'unix-port': { type: 'string' },
    'local-password-file': { type: 'string' },
    'local-tls-cert': { type: 'string' },
    'local-tls-key': { type: 'string' },
    'max-sessions': { type: 'string' },
    'shutdown-grace': { type: 'string' },
    cloud: { type: 'string' },
  },
  positionals: 'connection',
  help: async (io) => PROXY_HELP(await cloudOptionHelp(io.env, 28)),
  run: async (args, io) => serve(await readProxyArgs(args, io), io),
});

/**
 * Reads `proxy`'s arguments as the command does: parsed by the frame, checked, the defaults filled in.
 *
 * @example
 * console.log((await parseProxyArgs(['--listen', '6432', '--shutdown-grace=1.5'])).shutdownGraceMs); // 1500
 */
export async function parseProxyArgs(args: string[], env: Io['env'] = {}): Promise<ProxyArgs> {
  const parsed = parseCommandArgs(args, { usage: 'pg-passwordless proxy', ...proxyCommand });
  return readProxyArgs(parsed, { stdout: process.stdout, stderr: process.stderr, env });
}

/** The flags read through the frame's validators, with the proxy's defaults. */
async function readProxyArgs(args: ParsedArgs, io: Io): Promise<ProxyArgs> {
  const localTlsCert = args.text('local-tls-cert');
  const localTlsKey = args.text('local-tls-key');
  if ((localTlsCert === undefined) !== (localTlsKey === undefined)) {
    throw args.error(
      '--local-tls-cert and --local-tls-key go together.',
      'Pass both: the PEM certificate clients see and its private key.',
    );
  }
  return {
    url: args.connection,
    listen: args.text('listen') ?? DEFAULT_LISTEN,
    unixPort: args.wholeNumber('unix-port', { min: 1, max: 65_535 }) ?? 5432,
    localPasswordFile: args.text('local-password-file'),
    localTlsCert,
    localTlsKey,
    maxSessions: args.wholeNumber('max-sessions', { min: 1, max: 1_000_000 }),
    shutdownGraceMs: (args.decimal('shutdown-grace', { min: 0, max: 86_400 }) ?? 10) * 1_000,
    cloud: await chosenCloud(args, io.env),
  };
}

async function serve(options: ProxyArgs, io: Io): Promise<number> {
  const listen = parseListenAddress(options.listen, options.unixPort);
  const localPassword = options.localPasswordFile ? readLocalPassword(options.localPasswordFile) : undefined;
  const localTls =
    options.localTlsCert && options.localTlsKey
      ? readLocalTls(options.localTlsCert, options.localTlsKey)
      : undefined;
  if (listen.kind === 'tcp' && localPassword === undefined && !(await isLoopback(listen.host))) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `Refusing to listen on ${listen.host} without a local password: anyone who reaches it would work as this identity.`,
      {
        hint: 'Listen on loopback (--listen 127.0.0.1:5432), or add --local-password-file FILE (mode 0600).',
      },
    );
  }
  const connection = await resolveCliConnection({ url: options.url, cloud: options.cloud, env: io.env });
  // A first token now: a proxy that cannot get one says so at start, not at the first client's login.
  await connection.getToken();
  const log = (line: string) => io.stderr.write(`pg-passwordless proxy: ${line}\n`);
  const proxy = await startProxy({
    listen,
    localPassword,
    localTls,
    maxSessions: options.maxSessions,
    log,
    upstream: upstreamFor(connection),
    labels: connection.token?.labels,
  });
  const { host, port, database } = connection.target;
  io.stdout.write(
    `pg-passwordless proxy: listening on ${describeListenAddress(proxy.address)} for ${connection.user}@${host}:${port}/${database ?? connection.user}\n` +
      `connect with: ${localUrl(proxy.address, connection.user, database, { tls: localTls !== undefined })}\n`,
  );
  if (localTls && proxy.address.kind === 'tcp') {
    io.stdout.write(
      `clients verify ${options.localTlsCert} against the CA that signed it: add sslrootcert=<that CA's file> (else libpq reads ~/.postgresql/root.crt)\n`,
    );
  }
  return waitForShutdown(proxy, options.shutdownGraceMs, log);
}

/** The proxy's upstream: the resolved target, its role and TLS options, and the library's token cache. */
export function upstreamFor(connection: CliConnection): Upstream {
  const { token } = connection;
  return {
    host: connection.target.host,
    port: connection.target.port,
    user: connection.user,
    database: connection.target.database,
    tls: connection.tls,
    getToken: connection.getToken,
    ...(token ? { invalidate: () => token.invalidate() } : {}),
  };
}

/**
 * The URL a client of the proxy uses, as the proxy's role: sslmode=verify-full when the proxy offers
 * TLS (the client checks the proxy's certificate before it sends the local password), else
 * sslmode=disable (a plain leg on loopback); a Unix socket needs neither.
 */
export function localUrl(
  address: ListenAddress,
  user: string,
  database: string | undefined,
  { tls = false }: { tls?: boolean } = {},
): string {
  const path = `/${encodeURIComponent(database ?? user)}`;
  if (address.kind === 'unix') {
    // A folder's "/" may stay as it is in a query; anything else that is not plain is percent-encoded.
    const folder = encodeURIComponent(address.folder).replace(/%2F/gi, '/');
    return `postgresql://${encodeURIComponent(user)}@${path}?host=${folder}&port=${address.port}`;
  }
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `postgresql://${encodeURIComponent(user)}@${host}:${address.port}${path}?sslmode=${tls ? 'verify-full' : 'disable'}`;
}

function waitForShutdown(proxy: RunningProxy, graceMs: number, log: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        log(`${signal} again: closing the remaining sessions now`);
        void proxy.close(0);
        return;
      }
      closing = true;
      const open = proxy.stats().active;
      log(
        `${signal}: no new sessions (cancel requests still pass); ${open} open, closing them in ${graceMs / 1000} s at the latest`,
      );
      void proxy.close(graceMs).then(({ closedAtDeadline }) => {
        if (closedAtDeadline > 0) log(`closed ${closedAtDeadline} sessions still open at the deadline`);
        for (const name of SIGNALS) process.removeListener(name, onSignal);
        resolve(0);
      });
    };
    for (const name of SIGNALS) process.on(name, onSignal);
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
