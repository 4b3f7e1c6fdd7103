import { renderPrometheus } from '../core/telemetry/prometheus.ts';
import { sharedTelemetry } from '../core/telemetry/telemetry.ts';
import { describeListenAddress } from '../proxy/listen-address.ts';
import type { EventLog } from './event-log.ts';
import { type MetricsText, type RunningHttpEndpoints, startHttpEndpoints } from './http-endpoints.ts';
import { listenerMetricFamilies, type ProxyMetricsSource } from './proxy-metrics.ts';
import type { ServiceHealth } from './service-health.ts';

/**
 * The `/metrics` text of a long-running command (proxy, pool): the process's instruments (token
 * fetches, cache hits and waits, expiry, sessions and logins per listener; see core/telemetry), then
 * each listener's own counters. `listeners` is read at each scrape: a listener not up yet has none.
 *
 * @example
 * const metrics = commandMetrics(() => []);
 * console.log(typeof (await metrics())); // string
 */
export function commandMetrics(listeners: () => readonly ProxyMetricsSource[]): MetricsText {
  return () =>
    renderPrometheus({
      families: [...sharedTelemetry.snapshot().families, ...listenerMetricFamilies(listeners())],
    });
}

/**
 * Serves a command's health and metrics endpoints at `address` (see startHttpEndpoints; the probes of
 * createServiceHealth) and says where on `out` (event `http_listening`, field `url`); their own failures go to `log`.
 *
 * @example
 * const ok = () => ({ ok: true as const });
 * const endpoints = await serveCommandEndpoints({
 *   address: { host: '127.0.0.1', port: 0 },
 *   probes: { startup: ok, liveness: ok, readiness: ok },
 *   metrics: commandMetrics(() => []),
 *   log: (event) => console.error(event.message),
 *   out: (event) => console.log(event.message),
 * });
 * // health and metrics on http://127.0.0.1:40123: /metrics /startup /liveness /readiness
 * await endpoints.close();
 */
export async function serveCommandEndpoints(options: {
  address: { host: string; port: number };
  probes: ServiceHealth['probes'];
  metrics: MetricsText;
  log: EventLog;
  out: EventLog;
}): Promise<RunningHttpEndpoints> {
  const endpoints = await startHttpEndpoints({
    ...options.address,
    probes: options.probes,
    metrics: options.metrics,
    log: options.log,
  });
  const where = describeListenAddress({ kind: 'tcp', ...endpoints.address });
  options.out({
    level: 'info',
    event: 'http_listening',
    message: `health and metrics on http://${where}: /metrics /startup /liveness /readiness`,
    fields: { url: `http://${where}` },
  });
  return endpoints;
}
