/**
 * The instruments pg-passwordless records, once, in core: their OpenTelemetry names, kinds, units and
 * meanings. The in-process registry, the Prometheus text and the OpenTelemetry meters all read this one
 * table, so that a name or a bucket cannot differ between them.
 */

export type InstrumentKind = 'counter' | 'up-down-counter' | 'gauge' | 'histogram';

export interface InstrumentSpec {
  /** The OpenTelemetry name (`pg_passwordless.token.fetches`); Prometheus reads it with `_` for `.`. */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM, as OpenTelemetry wants it: `s` for seconds, `{fetch}` for a count of fetches. */
  readonly unit: string;
  readonly description: string;
  /** A histogram's upper bucket bounds, in its unit (the last bucket, +Inf, is implied). */
  readonly buckets?: readonly number[];
}

/**
 * Seconds, for token fetches and logins: from a cached answer of a local endpoint (milliseconds) to
 * a fetch that uses up the 10 s budget of a waiting caller, and a login cut at 15 s.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export const TOKEN_FETCHES: InstrumentSpec = {
  name: 'pg_passwordless.token.fetches',
  kind: 'counter',
  unit: '{fetch}',
  description:
    'Token fetches from the identity endpoint, each retry counted, by result (ok or error, with error.code).',
};

export const TOKEN_FETCH_DURATION: InstrumentSpec = {
  name: 'pg_passwordless.token.fetch.duration',
  kind: 'histogram',
  unit: 's',
  description: 'How long one token fetch took, failed ones included.',
  buckets: DURATION_BUCKETS_SECONDS,
};

export const TOKEN_CACHE_HITS: InstrumentSpec = {
  name: 'pg_passwordless.token.cache.hits',
  kind: 'counter',
  unit: '{hit}',
  description: 'Callers handed the cached token at once.',
};

export const TOKEN_WAITS: InstrumentSpec = {
  name: 'pg_passwordless.token.waits',
  kind: 'counter',
  unit: '{wait}',
  description: 'Callers that waited for a fetch because no usable token was cached.',
};

export const TOKEN_EXPIRES_AT: InstrumentSpec = {
  name: 'pg_passwordless.token.expires_at',
  kind: 'gauge',
  unit: 's',
  description:
    'When the cached token expires, in Unix seconds (the earliest, when several caches share the attributes).',
};

export const PROXY_SESSIONS: InstrumentSpec = {
  name: 'pg_passwordless.proxy.sessions',
  kind: 'up-down-counter',
  unit: '{session}',
  description: 'Client sessions open now, logged in upstream.',
};

export const PROXY_LOGINS: InstrumentSpec = {
  name: 'pg_passwordless.proxy.logins',
  kind: 'counter',
  unit: '{login}',
  description: 'Client logins, counted from the startup packet on, by result (ok, refused or failed).',
};

export const PROXY_LOGIN_DURATION: InstrumentSpec = {
  name: 'pg_passwordless.proxy.login.duration',
  kind: 'histogram',
  unit: 's',
  description: 'How long a client login took, from its startup packet to its session or its refusal.',
  buckets: DURATION_BUCKETS_SECONDS,
};

/** Every instrument, in the order a snapshot lists them. */
export const INSTRUMENTS: readonly InstrumentSpec[] = [
  TOKEN_FETCHES,
  TOKEN_FETCH_DURATION,
  TOKEN_CACHE_HITS,
  TOKEN_WAITS,
  TOKEN_EXPIRES_AT,
  PROXY_SESSIONS,
  PROXY_LOGINS,
  PROXY_LOGIN_DURATION,
];

/** The span around each real fetch of a token. */
export const TOKEN_FETCH_SPAN = 'pg_passwordless.token.fetch';
