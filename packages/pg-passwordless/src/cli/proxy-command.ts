import { LOG_FORMATS } from '../ops/event-log.ts';
import { parseHttpAddress } from '../ops/http-address.ts';
import { reportingFailures } from '../ops/start-failure.ts';
import {
  DEFAULT_LISTEN,
  describeListenAddress,
  type ListenAddress,
  parseListenAddress,
} from '../proxy/listen-address.ts';
import { chosenCloud, cloudOptionHelp } from './cloud-option.ts';
import { defineCommand } from './frame/command.ts';
import type { Io } from './frame/io.ts';
import { type ParsedArgs, parseCommandArgs } from './frame/parsed-args.ts';
import { PROXY_LOG_PREFIX, type ProxyArgs, serveProxy } from './proxy-service.ts';

/** The help of `--http-address` and `--log-format`, which `proxy` and `pool` share. */
export const OPS_OPTIONS_HELP = `  --http-address ADDR         serve GET /metrics (Prometheus text) and the probes /startup, /liveness
                              and /readiness on HOST:PORT or PORT (on 127.0.0.1); 0.0.0.0:PORT for
                              Kubernetes probes, which reach the pod's own address. Off by default
  --log-format text|json      text lines (default), or one JSON object a line: time, level, event,
                              message and the event's fields`;

const PROXY_HELP = (cloudLine: string) => `Usage: pg-passwordless proxy [URL ...] [options]

A local PostgreSQL endpoint for tools that keep connections open or cannot run a command first
(pgAdmin, DBeaver, Grafana, Prisma Studio, an app that only takes a URL). Each client connection gets
its own connection to the server (URL, else DATABASE_URL, else PGHOST and friends), logged in with a
current token over verified TLS; then bytes pass through untouched. Tokens come from one cache: a
hundred clients connecting at once cost one identity request.

Clients connect as the URL's role, without TLS to a loopback address (sslmode=disable), or with TLS
when --local-tls-cert is given:

  pg-passwordless proxy postgresql://orders-api@db.example.com/orders &
  psql "postgresql://orders-api@127.0.0.1:5432/orders?sslmode=disable"

Several targets, each a URL, get a listener each, in the order of --listen (targets with the same
identity and token audience share one token):

  pg-passwordless proxy postgresql://orders-api@db.example.com/orders \\
    postgresql://orders-api@db.example.com/billing --listen 127.0.0.1:5432,127.0.0.1:5433

Anyone who can connect to the listener works as this workload's identity: it listens on loopback by
default, and on another address only with a local password (and, to encrypt that leg, a certificate).

Options:
  --listen ADDR[,ADDR...]     where to listen, one address per target: HOST:PORT, PORT (on 127.0.0.1)
                              or a folder for a Unix socket .s.PGSQL.<port> only this user can open
                              (default ${DEFAULT_LISTEN}, for one target)
  --unix-port PORT            the port in the Unix socket's name (default 5432)
  --local-password-file FILE  clients must send the first line of FILE (mode 0600) as their password;
                              required to listen on an address that is not loopback
  --local-tls-cert FILE       offer TLS to clients with this PEM certificate (chain) ...
  --local-tls-key FILE        ... and its PEM key (mode 0600); clients from other hosts must then use
                              it (sslmode=verify-full with the certificate's CA); without these the
                              leg to the proxy is not encrypted: keep it on loopback or a private network
  --max-sessions N            sessions at once per target (default 1000), counted from startup packets;
                              a client beyond them gets "FATAL: sorry, too many clients already" (53300),
                              as from PostgreSQL at max_connections. Connections that have not sent a
                              startup packet are kept apart (1000 at most, 15 s each; the oldest makes
                              room for a new one), so silent ones cannot lock logins out
  --shutdown-grace SECONDS    on SIGTERM or SIGINT, refuse new sessions and let open ones finish for
                              this long, then close them (default 10; a second signal closes at once)
${OPS_OPTIONS_HELP}
${cloudLine}
  -h, --help                  show this help`;

/**
 * `pg-passwordless proxy [URL ...] [--listen ADDR,...] [--http-address ADDR] ...`: serves until SIGTERM
 * or SIGINT, then shuts down within the grace period. Resolves with the exit code.
 *
 * @example
 * console.log(proxyCommand.name, Object.keys(proxyCommand.options).length); // proxy 11
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
    'http-address': { type: 'string' },
    'log-format': { type: 'string' },
    cloud: { type: 'string' },
  },
  positionals: 'connections',
  help: async (io) => PROXY_HELP(await cloudOptionHelp(io.env, 28)),
  run: async (args, io) => {
    // Read first, so that every later failure is written the way the log is.
    const format = args.oneOf('log-format', LOG_FORMATS) ?? 'text';
    return reportingFailures({ format, stream: io.stderr, prefix: PROXY_LOG_PREFIX }, async () =>
      serveProxy(await readProxyArgs(args, io), io),
    );
  },
});

/**
 * Reads `proxy`'s arguments as the command does: parsed by the frame, checked, the defaults filled in.
 *
 * @example
 * console.log((await parseProxyArgs(['--listen', '6432', '--shutdown-grace=1.5'])).shutdownGraceMs); // 1500
 * const two = await parseProxyArgs(['postgresql://app@db/orders', 'postgresql://app@db/billing', '--listen', '5432,/run/pg']);
 * console.log(two.listen.map((address) => address.kind)); // [ 'tcp', 'unix' ]
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
  const httpAddress = args.text('http-address');
  return {
    urls: args.connections,
    listen: listenAddresses(args, Math.max(args.connections.length, 1)),
    localPasswordFile: args.text('local-password-file'),
    localTlsCert,
    localTlsKey,
    maxSessions: args.wholeNumber('max-sessions', { min: 1, max: 1_000_000 }),
    shutdownGraceMs: (args.decimal('shutdown-grace', { min: 0, max: 86_400 }) ?? 10) * 1_000,
    cloud: await chosenCloud(args, io.env),
    httpAddress: httpAddress === undefined ? undefined : parseHttpAddress(httpAddress),
    logFormat: args.oneOf('log-format', LOG_FORMATS) ?? 'text',
  };
}

/**
 * `--listen`: one address per target, comma-separated in the order of the URLs; the default serves one
 * target only. No two targets may listen at the same place (port 0, a free port each, excepted).
 */
function listenAddresses(args: ParsedArgs, targets: number): ListenAddress[] {
  const given = args.text('listen');
  const unixPort = args.wholeNumber('unix-port', { min: 1, max: 65_535 }) ?? 5432;
  const values = (given ?? DEFAULT_LISTEN).split(',');
  if (values.length !== targets) {
    throw args.error(
      given === undefined
        ? `${targets} targets need one --listen address each.`
        : `--listen names ${values.length} ${values.length === 1 ? 'address' : 'addresses'} for ${targets} ${targets === 1 ? 'target' : 'targets'}.`,
      'Give one address per target, comma-separated in the order of the URLs: --listen 127.0.0.1:5432,127.0.0.1:5433.',
    );
  }
  const addresses = values.map((value) => parseListenAddress(value.trim(), unixPort));
  const places = addresses.filter((address) => address.port !== 0).map(describeListenAddress);
  const shared = places.find((place, index) => places.indexOf(place) !== index);
  if (shared !== undefined) {
    throw args.error(
      `Two targets cannot both listen on ${shared}.`,
      'Give each target its own port (or, for Unix sockets, its own folder): --listen /run/pg-orders,/run/pg-billing.',
    );
  }
  return addresses;
}
