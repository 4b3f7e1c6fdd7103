import type { SecureContext } from 'node:tls';
import { PasswordlessError } from '../core/errors.ts';
import { commandMetrics, serveCommandEndpoints } from '../ops/command-endpoints.ts';
import { createEventLog, type EventLog, type LogFormat } from '../ops/event-log.ts';
import type { ProxyMetricsSource } from '../ops/proxy-metrics.ts';
import { createServiceHealth, type HealthTarget, type ServiceHealth } from '../ops/service-health.ts';
import { createTokenHealth, type TokenHealth } from '../ops/token-health.ts';
import { describeListenAddress, isLoopback, type ListenAddress } from '../proxy/listen-address.ts';
import { readLocalPassword } from '../proxy/local-password.ts';
import { readLocalTls } from '../proxy/local-tls.ts';
import { type RunningProxy, startProxy } from '../proxy/proxy.ts';
import type { Upstream } from '../proxy/upstream.ts';
import { type CliConnection, resolveCliConnection } from './connection.ts';
import type { Io } from './frame/io.ts';

/** What `proxy`'s flags say, read and checked. */
export interface ProxyArgs {
  /** The targets' URLs in order; none: DATABASE_URL, else PGHOST and friends. */
  urls: string[];
  /** Where each target listens, in the order of `urls`. */
  listen: ListenAddress[];
  localPasswordFile: string | undefined;
  localTlsCert: string | undefined;
  localTlsKey: string | undefined;
  maxSessions: number | undefined;
  shutdownGraceMs: number;
  cloud: string | undefined;
  /** Where /metrics and the probes are served; undefined: not at all. */
  httpAddress: { host: string; port: number } | undefined;
  logFormat: LogFormat;
}

/** What a text line of the proxy starts with. */
export const PROXY_LOG_PREFIX = 'pg-passwordless proxy';

/** One target: where it listens, what it logs in to, its token's health, and its listener once up. */
interface Target {
  listen: ListenAddress;
  connection: CliConnection;
  token: TokenHealth;
  /** `orders-api@db.example.com:5432/orders`. */
  name: string;
  proxy?: RunningProxy;
}

/** What every target shares: the flags, the logs, the client-side access rules. */
interface Service {
  options: ProxyArgs;
  io: Io;
  /** Events on stderr (refused logins, shutdown); what the proxy prints for its clients on stdout. */
  log: EventLog;
  out: EventLog;
  localPassword: string | undefined;
  localTls: SecureContext | undefined;
}

/**
 * Serves every target until SIGTERM or SIGINT: the health and metrics endpoints first (so a startup
 * probe is answered while the first tokens come), then a first token per target (a proxy that cannot
 * get one says so at start, not at the first client's login), then a listener per target.
 */
export async function serveProxy(options: ProxyArgs, io: Io): Promise<number> {
  const service = await prepare(options, io);
  const targets = await Promise.all(
    options.listen.map((listen, index) => resolveTarget(service, listen, options.urls[index])),
  );
  const health = createServiceHealth(targets.map(healthTarget));
  const endpoints =
    options.httpAddress &&
    (await serveCommandEndpoints({
      address: options.httpAddress,
      probes: health.probes,
      metrics: commandMetrics(listenersOf(targets)),
      log: service.log,
      out: service.out,
    }));
  try {
    await Promise.all(targets.map((target) => target.token.getToken()));
    for (const target of targets) target.proxy = await startTarget(service, target);
  } catch (error) {
    await Promise.all(targets.map((target) => target.proxy?.close(0)));
    await endpoints?.close();
    for (const target of targets) target.token.close();
    throw error;
  }
  for (const target of targets) announce(service, target);
  health.started();
  const code = await waitForShutdown(service, targets, health);
  await endpoints?.close();
  for (const target of targets) target.token.close();
  return code;
}

/** Each listener that is up, by its address, for `/metrics`. */
function listenersOf(targets: readonly Target[]): () => ProxyMetricsSource[] {
  return () =>
    targets.flatMap(({ proxy }) =>
      proxy ? [{ listen: describeListenAddress(proxy.address), stats: () => proxy.stats() }] : [],
    );
}

/** The logs, and the local password and TLS, checked before anything listens or fetches. */
async function prepare(options: ProxyArgs, io: Io): Promise<Service> {
  const localPassword = options.localPasswordFile ? readLocalPassword(options.localPasswordFile) : undefined;
  const localTls =
    options.localTlsCert && options.localTlsKey
      ? readLocalTls(options.localTlsCert, options.localTlsKey)
      : undefined;
  for (const listen of options.listen) {
    if (listen.kind === 'tcp' && localPassword === undefined && !(await isLoopback(listen.host))) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `Refusing to listen on ${listen.host} without a local password: anyone who reaches it would work as this identity.`,
        {
          hint: 'Listen on loopback (--listen 127.0.0.1:5432), or add --local-password-file FILE (mode 0600).',
        },
      );
    }
  }
  const logOn = (stream: NodeJS.WritableStream) =>
    createEventLog({ format: options.logFormat, stream, prefix: PROXY_LOG_PREFIX });
  return { options, io, log: logOn(io.stderr), out: logOn(io.stdout), localPassword, localTls };
}

/** Resolves a target's connection; its token function goes through the health that readiness reads. */
async function resolveTarget(
  service: Service,
  listen: ListenAddress,
  url: string | undefined,
): Promise<Target> {
  const { options, io } = service;
  const connection = await resolveCliConnection({ url, cloud: options.cloud, env: io.env });
  const token = createTokenHealth({ getToken: connection.getToken, handle: connection.token });
  const { host, port, database } = connection.target;
  return {
    listen,
    connection,
    token,
    name: `${connection.user}@${host}:${port}/${database ?? connection.user}`,
  };
}

function healthTarget(target: Target): HealthTarget {
  return { name: target.name, token: target.token, lastLogin: () => target.proxy?.lastLogin() };
}

function startTarget(service: Service, target: Target): Promise<RunningProxy> {
  return startProxy({
    listen: target.listen,
    localPassword: service.localPassword,
    localTls: service.localTls,
    maxSessions: service.options.maxSessions,
    log: service.log,
    upstream: { ...upstreamFor(target.connection), getToken: target.token.getToken },
    labels: target.connection.token?.labels,
  });
}

/** Where a target listens and the URL its clients use (in text, on a line of its own as it always was). */
function announce(service: Service, target: Target): void {
  const { options, io } = service;
  const address = (target.proxy as RunningProxy).address;
  const where = describeListenAddress(address);
  const { user, target: server } = target.connection;
  const url = localUrl(address, user, server.database, { tls: service.localTls !== undefined });
  service.out({
    level: 'info',
    event: 'listening',
    message: `listening on ${where} for ${target.name}`,
    fields: { listen: where, target: target.name, connect: url },
  });
  if (options.logFormat === 'json') return;
  io.stdout.write(`connect with: ${url}\n`);
  if (service.localTls && address.kind === 'tcp') {
    io.stdout.write(
      `clients verify ${options.localTlsCert} against the CA that signed it: add sslrootcert=<that CA's file> (else libpq reads ~/.postgresql/root.crt)\n`,
    );
  }
}

/**
 * The first SIGTERM or SIGINT: readiness fails, new sessions are refused and open ones get the grace
 * period, on every listener at once; a second signal closes them at once.
 */
function waitForShutdown(
  service: Service,
  targets: readonly Target[],
  health: ServiceHealth,
): Promise<number> {
  const proxies = targets.map((target) => target.proxy as RunningProxy);
  const { log } = service;
  const graceMs = service.options.shutdownGraceMs;
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        log({
          level: 'warn',
          event: 'shutdown_now',
          message: `${signal} again: closing the remaining sessions now`,
          fields: { signal },
        });
        for (const proxy of proxies) void proxy.close(0);
        return;
      }
      closing = true;
      health.draining();
      const open = proxies.reduce((sum, proxy) => sum + proxy.stats().active, 0);
      log({
        level: 'info',
        event: 'shutdown_started',
        message: `${signal}: no new sessions (cancel requests still pass); ${open} open, closing them in ${graceMs / 1000} s at the latest`,
        fields: { signal, open, graceSeconds: graceMs / 1000 },
      });
      void Promise.all(proxies.map((proxy) => proxy.close(graceMs))).then((closed) => {
        const atDeadline = closed.reduce((sum, { closedAtDeadline }) => sum + closedAtDeadline, 0);
        if (atDeadline > 0) {
          log({
            level: 'warn',
            event: 'closed_at_deadline',
            message: `closed ${atDeadline} sessions still open at the deadline`,
            fields: { sessions: atDeadline },
          });
        }
        for (const name of SIGNALS) process.removeListener(name, onSignal);
        resolve(0);
      });
    };
    for (const name of SIGNALS) process.on(name, onSignal);
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

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
