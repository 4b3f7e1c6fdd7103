import type { MetricFamily, ValueSample } from '../core/telemetry/registry.ts';
import type { ProxyStats } from '../proxy/proxy.ts';

/** A listener of the proxy, by its address, and its counters. */
export interface ProxyMetricsSource {
  /** `127.0.0.1:5432` or the socket's path: the `listen` label. */
  listen: string;
  stats(): ProxyStats;
}

type Reading = { attributes?: Record<string, string>; read: (stats: ProxyStats) => number };

interface ListenerFamily {
  name: string;
  unit: string;
  help: string;
  type: 'counter' | 'gauge';
  readings: Reading[];
}

/**
 * What each listener counts besides the sessions and logins the core records (see
 * `pg_passwordless.proxy.sessions` and `.logins`): the connections before any login, and why some
 * never logged in. Named as the core's instruments are, so the one renderer names them alike.
 */
const LISTENER_FAMILIES: readonly ListenerFamily[] = [
  {
    name: 'pg_passwordless.proxy.client_connections',
    unit: '{connection}',
    help: 'Client connections open now: sessions, and connections that have not logged in yet.',
    type: 'gauge',
    readings: [{ read: (stats) => stats.active }],
  },
  {
    name: 'pg_passwordless.proxy.connections',
    unit: '{connection}',
    help: 'Client connections accepted.',
    type: 'counter',
    readings: [{ read: (stats) => stats.connections }],
  },
  {
    name: 'pg_passwordless.proxy.too_many_clients',
    unit: '{login}',
    help: 'Logins refused with 53300 because every session place was taken (also counted as refused logins).',
    type: 'counter',
    readings: [{ read: (stats) => stats.tooManyClients }],
  },
  {
    name: 'pg_passwordless.proxy.protocol_errors',
    unit: '{connection}',
    help: 'Client connections closed for a protocol error.',
    type: 'counter',
    readings: [{ read: (stats) => stats.protocolErrors }],
  },
  {
    name: 'pg_passwordless.proxy.handshake_timeouts',
    unit: '{connection}',
    help: 'Client connections closed for not logging in within the handshake timeout.',
    type: 'counter',
    readings: [{ read: (stats) => stats.handshakeTimeouts }],
  },
  {
    name: 'pg_passwordless.proxy.evicted',
    unit: '{connection}',
    help: 'Connections that had not logged in, closed to make room for a newer one.',
    type: 'counter',
    readings: [{ read: (stats) => stats.evicted }],
  },
  {
    name: 'pg_passwordless.proxy.cancels',
    unit: '{request}',
    help: 'Cancel requests: forwarded to the server of their session, or dropped (the key of no session of this proxy).',
    type: 'counter',
    readings: [
      { attributes: { result: 'forwarded' }, read: (stats) => stats.cancelsForwarded },
      { attributes: { result: 'dropped' }, read: (stats) => stats.cancelsDropped },
    ],
  },
  {
    name: 'pg_passwordless.proxy.token_renewals',
    unit: '{login}',
    help: 'Logins retried with a renewed token after the server refused the cached one.',
    type: 'counter',
    readings: [{ read: (stats) => stats.tokenRenewals }],
  },
];

/**
 * The listeners' own counters as metric families, one series per listener (attribute `listen`), for
 * `renderPrometheus` beside the core's snapshot.
 *
 * @example
 * const { renderPrometheus } = await import('pg-passwordless');
 * const counted = { connections: 3, active: 2, sessions: 2, sessionsOpen: 2, pending: 0, evicted: 0, tooManyClients: 0,
 *   loginsRejected: 1, protocolErrors: 0, handshakeTimeouts: 0, cancelsForwarded: 0, cancelsDropped: 0, tokenRenewals: 0 };
 * const families = listenerMetricFamilies([{ listen: '127.0.0.1:5432', stats: () => counted }]);
 * const text = renderPrometheus({ families });
 * console.log(text.split('\n').filter((line) => line.startsWith('pg_passwordless_proxy_connections_total')));
 * // [ 'pg_passwordless_proxy_connections_total{listen="127.0.0.1:5432"} 3' ]
 */
export function listenerMetricFamilies(sources: readonly ProxyMetricsSource[]): MetricFamily[] {
  const counted = sources.map((source) => ({ listen: source.listen, stats: source.stats() }));
  return LISTENER_FAMILIES.map(({ readings, ...family }) => ({
    ...family,
    samples: counted.flatMap(({ listen, stats }) =>
      readings.map(
        (reading): ValueSample => ({
          attributes: { listen, ...reading.attributes },
          value: reading.read(stats),
        }),
      ),
    ),
  }));
}
