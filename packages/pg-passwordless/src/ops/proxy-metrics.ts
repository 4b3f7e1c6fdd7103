import type { ProxyStats } from '../proxy/proxy.ts';
import type { MetricsText } from './http-endpoints.ts';
import { type MetricFamily, prometheusText } from './prometheus-text.ts';

/** A listener of the proxy, by its address, and its counters. */
export interface ProxyMetricsSource {
  /** `127.0.0.1:5432` or the socket's path: the `listen` label. */
  listen: string;
  stats(): ProxyStats;
}

type Reading = { labels?: Record<string, string>; read: (stats: ProxyStats) => number };

/** Each family, from the proxy's own counters (see ProxyStats). */
const FAMILIES: ReadonlyArray<Omit<MetricFamily, 'samples'> & { readings: Reading[] }> = [
  {
    name: 'pg_passwordless_proxy_sessions',
    help: 'Client sessions open now, a login counted from its startup packet on.',
    type: 'gauge',
    readings: [{ read: (stats) => stats.sessionsOpen }],
  },
  {
    name: 'pg_passwordless_proxy_client_connections',
    help: 'Client connections open now: sessions, and connections that have not logged in yet.',
    type: 'gauge',
    readings: [{ read: (stats) => stats.active }],
  },
  {
    name: 'pg_passwordless_proxy_connections_total',
    help: 'Client connections accepted.',
    type: 'counter',
    readings: [{ read: (stats) => stats.connections }],
  },
  {
    name: 'pg_passwordless_proxy_logins_total',
    help: 'Client logins: ok (a session started) or refused (the client got an ErrorResponse: by the proxy, or by the server, or no token).',
    type: 'counter',
    readings: [
      { labels: { result: 'ok' }, read: (stats) => stats.sessions },
      { labels: { result: 'refused' }, read: (stats) => stats.loginsRejected },
    ],
  },
  {
    name: 'pg_passwordless_proxy_too_many_clients_total',
    help: 'Logins refused with 53300 because every session place was taken (also counted as refused logins).',
    type: 'counter',
    readings: [{ read: (stats) => stats.tooManyClients }],
  },
  {
    name: 'pg_passwordless_proxy_protocol_errors_total',
    help: 'Client connections closed for a protocol error.',
    type: 'counter',
    readings: [{ read: (stats) => stats.protocolErrors }],
  },
  {
    name: 'pg_passwordless_proxy_handshake_timeouts_total',
    help: 'Client connections closed for not logging in within the handshake timeout.',
    type: 'counter',
    readings: [{ read: (stats) => stats.handshakeTimeouts }],
  },
  {
    name: 'pg_passwordless_proxy_evicted_total',
    help: 'Connections that had not logged in, closed to make room for a newer one.',
    type: 'counter',
    readings: [{ read: (stats) => stats.evicted }],
  },
  {
    name: 'pg_passwordless_proxy_cancels_total',
    help: 'Cancel requests: forwarded to the server of their session, or dropped (the key of no session of this proxy).',
    type: 'counter',
    readings: [
      { labels: { result: 'forwarded' }, read: (stats) => stats.cancelsForwarded },
      { labels: { result: 'dropped' }, read: (stats) => stats.cancelsDropped },
    ],
  },
  {
    name: 'pg_passwordless_proxy_token_renewals_total',
    help: 'Logins retried with a renewed token after the server refused the cached one.',
    type: 'counter',
    readings: [{ read: (stats) => stats.tokenRenewals }],
  },
];

/**
 * The `/metrics` text of a proxy from its own counters, one sample per listener (label `listen`).
 *
 * @example
 * const counted = { connections: 3, active: 2, sessions: 2, sessionsOpen: 2, pending: 0, evicted: 0, tooManyClients: 0,
 *   loginsRejected: 1, protocolErrors: 0, handshakeTimeouts: 0, cancelsForwarded: 0, cancelsDropped: 0, tokenRenewals: 0 };
 * const text = await proxyMetricsText([{ listen: '127.0.0.1:5432', stats: () => counted }])();
 * console.log(text.split('\n').filter((line) => line.startsWith('pg_passwordless_proxy_logins_total')));
 * // [ 'pg_passwordless_proxy_logins_total{listen="127.0.0.1:5432",result="ok"} 2', '...{listen="127.0.0.1:5432",result="refused"} 1' ]
 */
export function proxyMetricsText(sources: readonly ProxyMetricsSource[]): MetricsText {
  return () => {
    const stats = sources.map((source) => ({ listen: source.listen, stats: source.stats() }));
    return prometheusText(
      FAMILIES.map(({ readings, ...family }) => ({
        ...family,
        samples: stats.flatMap(({ listen, stats: counted }) =>
          readings.map((reading) => ({
            labels: { listen, ...reading.labels },
            value: reading.read(counted),
          })),
        ),
      })),
    );
  };
}
