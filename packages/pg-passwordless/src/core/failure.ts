import { PasswordlessError } from './errors.ts';

/**
 * Why a token fetch failed, as far as the error graph tells:
 * - `network`: no HTTP answer (reset, refused, timed out, DNS, aborted);
 * - `throttled`: 429; `server`: 408 or 5xx; `rejected`: any other 4xx (400, 401, 403, 404...);
 * - `endpoint`: the caller saw a configured endpoint fail, and the SDK's error does not say how;
 * - `unavailable`: no identity here (no credential in the environment, an empty chain);
 * - `config`: the configuration is wrong (no AWS region); `unknown`: nothing recognisable.
 */
export type FailureReason =
  | 'network'
  | 'throttled'
  | 'server'
  | 'rejected'
  | 'endpoint'
  | 'unavailable'
  | 'config'
  | 'unknown';

/** What {@link classifyFailure} found. Never holds a token: only numbers, codes and the reason. */
export interface Failure {
  reason: FailureReason;
  /** Whether the same fetch, tried again later, may succeed. */
  retryable: boolean;
  /** The HTTP status of the identity endpoint's answer, the outermost one found. */
  status?: number;
  /** How long the endpoint asked us to wait (`Retry-After`, `retry-after-ms`, `x-ms-retry-after-ms`). */
  retryAfterMs?: number;
  /** The socket or SDK code of a network failure (`ECONNRESET`, `network_error`, `AbortError`...). */
  networkCode?: string;
  /**
   * Retries the SDK already made before giving up, when its error says (gaxios does, 3 by default):
   * another round of ours would multiply the requests, so the retry layer leaves the next try to the next caller.
   */
  sdkRetries?: number;
}

export interface ClassifyOptions {
  /** For `Retry-After` given as an HTTP date. */
  nowMs?: number;
  /**
   * The caller knows a configured identity endpoint was contacted (the AWS chain reached the container
   * credentials step): an SDK error that would read "no identity here" is then an endpoint failure.
   */
  endpointContacted?: boolean;
}

/** Deep enough for every SDK wrapping seen (DefaultAzureCredential: 4 levels), small enough for cycles. */
const MAX_DEPTH = 8;
const MAX_NODES = 200;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  // MSAL's wrapping of any failed request, and the aborts of fetch/gaxios on their timeout.
  'network_error',
  'AbortError',
  'TimeoutError',
]);

/**
 * Classifies any error an identity SDK throws, by walking its whole graph (`cause`, aggregate `errors`,
 * the `response` of gaxios and @azure/core-rest-pipeline, AWS `$metadata`) for an HTTP status, a
 * `Retry-After` and network codes. One function for every cloud, so that retry decisions agree.
 * Shapes seen from the real SDKs against the emulator:
 * - DefaultAzureCredential: AggregateAuthenticationError.errors[i] = CredentialUnavailableError whose
 *   `cause` is MSAL's ServerError `{ status: 503, errorCode }` or ClientAuthError `{ errorCode: 'network_error' }`
 *   (MSAL keeps the status but drops the headers: no Retry-After);
 * - google-auth-library: GaxiosError `{ status, response: { status, headers: Headers } }`, `code` = the
 *   status or the socket code, `cause` = FetchError `{ code: 'ECONNRESET' }` or AbortError on its timeout;
 * - AWS default chain: CredentialsProviderError "Could not load credentials from any providers", the
 *   endpoint's answer lost (hence `endpointContacted`).
 *
 * @example
 * const failure = classifyFailure(
 *   Object.assign(new Error('throttled'), { status: 429, response: { headers: { 'retry-after': '2' } } }),
 * );
 * // { reason: 'throttled', retryable: true, status: 429, retryAfterMs: 2000 }
 */
export function classifyFailure(error: unknown, options: ClassifyOptions = {}): Failure {
  const nowMs = options.nowMs ?? Date.now();
  const facts = collectFacts(error, nowMs);
  const known = error instanceof PasswordlessError ? error : undefined;
  const base = {
    status: facts.status,
    retryAfterMs: known?.retryAfterMs ?? facts.retryAfterMs,
    networkCode: facts.networkCode,
    sdkRetries: facts.sdkRetries,
  };
  const reason = reasonOf(facts, options.endpointContacted === true);
  // Our own errors were classified once already, where they were made: keep that decision.
  const retryable = known ? known.retryable : isRetryableReason(reason);
  return dropUndefined({ reason, retryable, ...base });
}

interface Facts {
  status?: number;
  retryAfterMs?: number;
  networkCode?: string;
  sdkRetries?: number;
  unavailable: boolean;
  config: boolean;
  endpointFailed: boolean;
}

function reasonOf(facts: Facts, endpointContacted: boolean): FailureReason {
  const { status } = facts;
  if (status !== undefined) {
    if (status === 429) return 'throttled';
    if (status === 408 || status >= 500) return 'server';
    return 'rejected';
  }
  if (facts.networkCode) return 'network';
  if (facts.config) return 'config';
  if (facts.endpointFailed || endpointContacted) return 'endpoint';
  if (facts.unavailable) return 'unavailable';
  return 'unknown';
}

function isRetryableReason(reason: FailureReason): boolean {
  return reason === 'network' || reason === 'throttled' || reason === 'server' || reason === 'endpoint';
}

/** Breadth first, so the outermost status wins; each node visited once (cycles), bounded in depth and size. */
function collectFacts(root: unknown, nowMs: number): Facts {
  const facts: Facts = { unavailable: false, config: false, endpointFailed: false };
  const seen = new Set<object>();
  let queue: unknown[] = [root];
  for (let depth = 0; depth <= MAX_DEPTH && queue.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of queue) {
      if (node === null || typeof node !== 'object' || seen.has(node) || seen.size >= MAX_NODES) continue;
      seen.add(node);
      inspectNode(node as Record<string, unknown>, facts, nowMs);
      next.push(...childrenOf(node as Record<string, unknown>));
    }
    queue = next;
  }
  return facts;
}

function childrenOf(node: Record<string, unknown>): unknown[] {
  const children: unknown[] = [node.cause, node.originalError, node.innerError];
  const errors = readField(node, 'errors');
  if (Array.isArray(errors)) children.push(...errors);
  return children;
}

function inspectNode(node: Record<string, unknown>, facts: Facts, nowMs: number): void {
  const response = readField(node, 'response') as Record<string, unknown> | undefined;
  facts.status ??=
    statusOf(node) ?? (response && typeof response === 'object' ? statusOf(response) : undefined);
  facts.retryAfterMs ??=
    retryAfterOf(readField(node, 'headers'), nowMs) ??
    (response && typeof response === 'object'
      ? retryAfterOf(readField(response, 'headers'), nowMs)
      : undefined);
  facts.networkCode ??= networkCodeOf(node);
  facts.sdkRetries ??= gaxiosRetriesOf(node);
  const name = typeof node.name === 'string' ? node.name : '';
  const message = typeof node.message === 'string' ? node.message : '';
  // No identity here: Azure's CredentialUnavailableError (alone, without a status or network cause
  // under it), the AWS chain's final error, google-auth-library's ADC failure.
  if (
    name === 'CredentialUnavailableError' ||
    name === 'CredentialsProviderError' ||
    /Could not load the default credentials/i.test(message)
  )
    facts.unavailable = true;
  if (/region is missing/i.test(message) || node.code === 'CONFIG_INVALID') facts.config = true;
  if (node.code === 'TOKEN_ENDPOINT_FAILED') facts.endpointFailed = true;
}

/** Reads a field without running a getter that throws (some SDK errors have lazy getters). */
function readField(node: object, key: string): unknown {
  try {
    return (node as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function statusOf(node: Record<string, unknown>): number | undefined {
  const metadata = readField(node, '$metadata') as { httpStatusCode?: unknown } | undefined;
  // gaxios puts the status in `code` too (a number), next to socket codes (strings).
  const candidates = [node.status, node.statusCode, metadata?.httpStatusCode, node.code];
  for (const value of candidates) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  }
  return undefined;
}

function networkCodeOf(node: Record<string, unknown>): string | undefined {
  for (const value of [node.code, node.errorCode, node.name]) {
    if (typeof value !== 'string') continue;
    if (NETWORK_CODES.has(value) || value.startsWith('UND_ERR_')) return value;
  }
  // fetch: TypeError('fetch failed') whose cause holds the socket code; a cause-less one is a network failure too.
  if (node.name === 'TypeError' && node.message === 'fetch failed' && !node.cause) return 'fetch failed';
  return undefined;
}

function gaxiosRetriesOf(node: Record<string, unknown>): number | undefined {
  const config = readField(node, 'config') as { retryConfig?: { currentRetryAttempt?: unknown } } | undefined;
  const attempts = config?.retryConfig?.currentRetryAttempt;
  return typeof attempts === 'number' && attempts > 0 ? attempts : undefined;
}

/** Reads a header from a plain object (any case), a fetch `Headers`, or an Azure `HttpHeaders` (`.get()`). */
function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = readField(headers, 'get');
  if (typeof get === 'function') {
    try {
      const value = get.call(headers, name);
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

/** `retry-after-ms` and `x-ms-retry-after-ms` in milliseconds; `Retry-After` in seconds or as an HTTP date. */
function retryAfterOf(headers: unknown, nowMs: number): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const text = headerOf(headers, name)?.trim();
    if (text && /^\d+$/.test(text)) return Number(text);
  }
  const value = headerOf(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

function dropUndefined(failure: Failure): Failure {
  for (const key of Object.keys(failure) as Array<keyof Failure>)
    if (failure[key] === undefined) delete failure[key];
  return failure;
}
