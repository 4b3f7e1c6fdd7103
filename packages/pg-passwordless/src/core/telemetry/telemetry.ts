import { PasswordlessError } from '../errors.ts';
import {
  type InstrumentSpec,
  PROXY_LOGIN_DURATION,
  PROXY_LOGINS,
  PROXY_SESSIONS,
  TOKEN_CACHE_HITS,
  TOKEN_EXPIRES_AT,
  TOKEN_FETCH_DURATION,
  TOKEN_FETCH_SPAN,
  TOKEN_FETCHES,
  TOKEN_WAITS,
} from './instruments.ts';
import { createOtelLoader } from './otel-api.ts';
import { createOtelBridge, type OtelBridge, type SpanEnd } from './otel-bridge.ts';
import {
  type GaugeReading,
  type MetricAttributes,
  MetricRegistry,
  type MetricsSnapshot,
} from './registry.ts';

/**
 * The attributes every instrument carries: the cloud (`azure`, `aws`, `gcp`, or one of your own) and the
 * plugin that made the token cache (a cloud runs as the plugin of its own name). Never a secret.
 */
export interface TelemetryLabels {
  cloud: string;
  plugin: string;
}

/** What a token cache records: each real fetch, each caller served at once or made to wait, its token's expiry. */
export interface TokenCacheTelemetry {
  /**
   * One real fetch (`attempt` counts from 1 within a retried fetch): the fetches counter by result, the
   * fetch duration, and the `pg_passwordless.token.fetch` span, a child of the caller's active span or,
   * for a refresh no caller started (`root`), a trace of its own.
   */
  fetch<T>(attempt: number, root: boolean, run: () => Promise<T>): Promise<T>;
  hit(): void;
  wait(): void;
  /** The cache was closed: its expiry is no longer reported. */
  close(): void;
}

/** What the proxy (and the pool behind it) records. */
export interface ProxyTelemetry {
  sessionOpened(): void;
  sessionClosed(): void;
  login(result: 'ok' | 'refused' | 'failed', seconds: number): void;
}

/**
 * The one recording point of pg-passwordless: every token cache and proxy records here, once, and it
 * keeps the current values in process (what `GET /metrics` renders with {@link renderPrometheus}) and
 * sends the same recordings to OpenTelemetry when `@opentelemetry/api` is installed and a provider is
 * registered.
 *
 * @example
 * import { sharedTelemetry } from 'pg-passwordless';
 *
 * const fetches = sharedTelemetry.snapshot().families.find((family) => family.name === 'pg_passwordless.token.fetches');
 * console.log(fetches?.type, fetches?.samples); // counter []
 */
export interface Telemetry {
  /** Every instrument's current series. */
  snapshot(): MetricsSnapshot;
  /** The recorder of one token cache; `expiresAtMs` is read whenever the gauge is collected. */
  tokenCache(
    labels: TelemetryLabels,
    options: { now(): number; expiresAtMs(): number | undefined },
  ): TokenCacheTelemetry;
  /** The recorder of one proxy listener; `listen` (its address) tells the listeners of one process apart. */
  proxy(labels: TelemetryLabels & { listen?: string }): ProxyTelemetry;
}

export interface TelemetryOptions {
  /** How `@opentelemetry/api` is loaded, on first use only (tests pass one that fails). */
  loadOpenTelemetry?: () => unknown;
}

/**
 * A recording point of its own: its registry starts empty. The process has one already,
 * {@link sharedTelemetry}, which every cache and proxy uses unless given another (tests, or an app that
 * serves two sets of metrics).
 *
 * @example
 * import { createTelemetry, renderPrometheus } from 'pg-passwordless';
 *
 * const telemetry = createTelemetry();
 * telemetry.proxy({ cloud: 'gcp', plugin: 'gcp' }).login('refused', 0.012);
 * console.log(renderPrometheus(telemetry.snapshot()).includes('pg_passwordless_proxy_logins_total{cloud="gcp",plugin="gcp",result="refused"} 1')); // true
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const registry = new MetricRegistry();
  const otel = createOtelBridge(createOtelLoader(options.loadOpenTelemetry), (spec) =>
    registry.gaugeSamples(spec),
  );
  const add = (spec: InstrumentSpec, value: number, attributes: MetricAttributes) => {
    registry.add(spec, value, attributes);
    otel.add(spec, value, attributes);
  };
  const record = (spec: InstrumentSpec, value: number, attributes: MetricAttributes) => {
    registry.record(spec, value, attributes);
    otel.record(spec, value, attributes);
  };
  return {
    snapshot: () => registry.snapshot(),
    tokenCache: (labels, cache) => new TokenCacheRecorder(labels, cache, { registry, otel, add, record }),
    proxy(labels) {
      const { cloud, plugin, listen } = labels;
      const attributes: MetricAttributes =
        listen === undefined ? { cloud, plugin } : { cloud, plugin, listen };
      return {
        sessionOpened: () => add(PROXY_SESSIONS, 1, attributes),
        sessionClosed: () => add(PROXY_SESSIONS, -1, attributes),
        login(result, seconds) {
          add(PROXY_LOGINS, 1, { ...attributes, result });
          record(PROXY_LOGIN_DURATION, seconds, attributes);
        },
      };
    },
  };
}

interface Sinks {
  registry: MetricRegistry;
  otel: OtelBridge;
  add(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void;
  record(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void;
}

class TokenCacheRecorder implements TokenCacheTelemetry {
  readonly #attributes: MetricAttributes;
  readonly #now: () => number;
  readonly #sinks: Sinks;
  /** Held here, so that the registry's weak reference lives as long as the cache that holds this. */
  readonly #expiry: GaugeReading;
  readonly #unwatch: () => void;

  constructor(
    labels: TelemetryLabels,
    cache: { now(): number; expiresAtMs(): number | undefined },
    sinks: Sinks,
  ) {
    this.#attributes = { cloud: labels.cloud, plugin: labels.plugin };
    this.#now = () => cache.now();
    this.#sinks = sinks;
    this.#expiry = {
      attributes: this.#attributes,
      read: () => {
        const expiresAtMs = cache.expiresAtMs();
        return expiresAtMs === undefined ? undefined : expiresAtMs / 1_000;
      },
    };
    this.#unwatch = sinks.registry.watch(TOKEN_EXPIRES_AT, this.#expiry);
  }

  async fetch<T>(attempt: number, root: boolean, run: () => Promise<T>): Promise<T> {
    const startedMs = this.#now();
    const spanEnd = (error: unknown): SpanEnd => {
      if (error === undefined) return { attributes: { outcome: 'ok' } };
      const code = errorCode(error);
      return {
        attributes: { outcome: 'error', 'error.code': code },
        failure: `${code}: ${error instanceof Error ? error.message : 'the token source failed'}`,
      };
    };
    const span = { ...this.#attributes, attempt };
    try {
      const result = await this.#sinks.otel.inSpan(TOKEN_FETCH_SPAN, span, root, run, spanEnd);
      this.#fetched(startedMs, { result: 'ok' });
      return result;
    } catch (error) {
      this.#fetched(startedMs, { result: 'error', 'error.code': errorCode(error) });
      throw error;
    }
  }

  hit(): void {
    this.#sinks.add(TOKEN_CACHE_HITS, 1, this.#attributes);
  }

  wait(): void {
    this.#sinks.add(TOKEN_WAITS, 1, this.#attributes);
  }

  close(): void {
    this.#unwatch();
  }

  #fetched(startedMs: number, outcome: MetricAttributes): void {
    this.#sinks.add(TOKEN_FETCHES, 1, { ...this.#attributes, ...outcome });
    const seconds = Math.max(0, this.#now() - startedMs) / 1_000;
    this.#sinks.record(TOKEN_FETCH_DURATION, seconds, this.#attributes);
  }
}

/** The code the caller sees: the cache reports any other failure as TOKEN_ENDPOINT_FAILED. */
function errorCode(error: unknown): string {
  return error instanceof PasswordlessError ? error.code : 'TOKEN_ENDPOINT_FAILED';
}

/**
 * The process's recording point: what every token cache and proxy records into unless given another,
 * and what the commands' `GET /metrics` renders.
 *
 * @example
 * import { renderPrometheus, sharedTelemetry } from 'pg-passwordless';
 *
 * console.log(renderPrometheus(sharedTelemetry.snapshot()).split('\n')[1]);
 * // # TYPE pg_passwordless_token_fetches_total counter
 */
export const sharedTelemetry: Telemetry = createTelemetry();
