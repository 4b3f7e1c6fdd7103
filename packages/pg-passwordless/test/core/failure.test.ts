// The classifier over error graphs shaped as the real SDKs throw them (captured against the emulator,
// see test/reliability/identity-faults.test.ts), built structurally: no SDK, no token, no timers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordlessError } from '../../src/core/errors.ts';
import { classifyFailure } from '../../src/core/failure.ts';
import { failureToError } from '../../src/core/failure-error.ts';
import { isRetryable, minimumRetryDelayMs, UNKNOWN_RETRY_AFTER_MS } from '../../src/core/retry.ts';

const NOW = Date.UTC(2026, 10, 29, 12);
const named = (name: string, message: string, fields: object = {}) =>
  Object.assign(new Error(message), { name }, fields);

/** MSAL's ServerError under ManagedIdentityCredential's CredentialUnavailableError, under DAC's aggregate. */
function defaultAzureCredentialError(inner: Error): Error {
  const unavailable = (what: string) => named('CredentialUnavailableError', `${what} is unavailable.`);
  const managedIdentity = named('CredentialUnavailableError', `ManagedIdentityCredential: ${inner.message}`, {
    cause: inner,
  });
  return named('AggregateAuthenticationError', 'ChainedTokenCredential authentication failed.', {
    errors: [unavailable('EnvironmentCredential'), managedIdentity, unavailable('AzureCliCredential')],
  });
}

/** GaxiosError as gcp-metadata leaves it after gaxios's own 3 retries. */
function gaxiosError(status: number, headers: Headers = new Headers()): Error {
  return named('Error', 'Could not refresh access token: injected', {
    status,
    code: status,
    response: { status, headers, data: '{}' },
    config: { retryConfig: { currentRetryAttempt: 3 } },
    cause: { message: '{}', code: status, status: 'Service Unavailable' },
  });
}

describe('classifyFailure', () => {
  it('finds a 503 four levels deep in DefaultAzureCredential, retryable (MSAL drops the headers)', () => {
    const error = defaultAzureCredentialError(
      named('ServerError', 'injected_fault', { status: 503, errorCode: 'injected_fault' }),
    );
    assert.deepEqual(classifyFailure(error), { reason: 'server', retryable: true, status: 503 });
  });

  it('reads MSAL network_error under DAC as a network failure', () => {
    const error = defaultAzureCredentialError(
      named('ClientAuthError', 'network_error: Network request failed', { errorCode: 'network_error' }),
    );
    assert.deepEqual(classifyFailure(error), {
      reason: 'network',
      retryable: true,
      networkCode: 'network_error',
    });
  });

  it('keeps "no credential here" not retryable when nothing under it says otherwise', () => {
    const error = named('AggregateAuthenticationError', 'ChainedTokenCredential authentication failed.', {
      errors: [named('CredentialUnavailableError', 'EnvironmentCredential is unavailable.')],
    });
    assert.deepEqual(classifyFailure(error), { reason: 'unavailable', retryable: false });
    assert.equal(
      failureToError(error, 'Azure', { unavailable: 'u', rejected: 'r', transient: 't' }).code,
      'CREDENTIAL_UNAVAILABLE',
    );
  });

  it('reads 403 from the identity endpoint as rejected, not retried', () => {
    const error = defaultAzureCredentialError(named('ServerError', 'forbidden', { status: 403 }));
    assert.equal(classifyFailure(error).reason, 'rejected');
    assert.equal(isRetryable(error), false);
  });

  it('reads gaxios: status, Retry-After in seconds from its Headers, and its own retries', () => {
    const error = gaxiosError(429, new Headers({ 'Retry-After': '2' }));
    assert.deepEqual(classifyFailure(error, { nowMs: NOW }), {
      reason: 'throttled',
      retryable: true,
      status: 429,
      retryAfterMs: 2_000,
      sdkRetries: 3,
    });
    // gaxios already retried 3 times: our layer leaves the next try to the next caller.
    assert.equal(isRetryable(error), false);
  });

  it('reads Retry-After as an HTTP date', () => {
    const headers = { 'retry-after': new Date(NOW + 5_000).toUTCString() };
    const error = named('RestError', 'throttled', { statusCode: 429, response: { status: 429, headers } });
    assert.equal(classifyFailure(error, { nowMs: NOW }).retryAfterMs, 5_000);
  });

  it('reads retry-after-ms and x-ms-retry-after-ms from an Azure HttpHeaders (.get)', () => {
    const httpHeaders = (values: Record<string, string>) => ({ get: (name: string) => values[name] });
    const restError = (headers: object) =>
      named('RestError', 'throttled', { statusCode: 429, response: { status: 429, headers } });
    assert.equal(classifyFailure(restError(httpHeaders({ 'retry-after-ms': '750' }))).retryAfterMs, 750);
    assert.equal(
      classifyFailure(restError(httpHeaders({ 'x-ms-retry-after-ms': '1250' }))).retryAfterMs,
      1_250,
    );
  });

  it('reads socket codes under gaxios and fetch, and aborts on timeout', () => {
    const reset = named('Error', 'Could not refresh access token: socket hang up', {
      code: 'ECONNRESET',
      cause: named('FetchError', 'socket hang up', { code: 'ECONNRESET' }),
    });
    assert.equal(classifyFailure(reset).networkCode, 'ECONNRESET');
    const fetchFailed = new TypeError('fetch failed', {
      cause: named('Error', 'other side closed', { code: 'UND_ERR_SOCKET' }),
    });
    assert.deepEqual(classifyFailure(fetchFailed), {
      reason: 'network',
      retryable: true,
      networkCode: 'UND_ERR_SOCKET',
    });
    const aborted = named('Error', 'Could not refresh access token: The operation was aborted.', {
      cause: named('AbortError', 'The operation was aborted.'),
    });
    assert.equal(classifyFailure(aborted).reason, 'network');
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])
      assert.equal(isRetryable(named('Error', code, { code })), true);
  });

  it('reads AWS $metadata.httpStatusCode', () => {
    const error = named('ThrottlingException', 'Rate exceeded', { $metadata: { httpStatusCode: 429 } });
    assert.equal(classifyFailure(error).status, 429);
  });

  it('tells an AWS empty chain from a failing container endpoint only with the caller’s knowledge', () => {
    const chain = named('CredentialsProviderError', 'Could not load credentials from any providers', {
      tryNextLink: false,
    });
    assert.deepEqual(classifyFailure(chain), { reason: 'unavailable', retryable: false });
    assert.deepEqual(classifyFailure(chain, { endpointContacted: true }), {
      reason: 'endpoint',
      retryable: true,
    });
  });

  it('reads a missing AWS region as configuration, and google ADC failures as unavailable', () => {
    assert.equal(classifyFailure(new Error('Region is missing')).reason, 'config');
    assert.equal(
      classifyFailure(new Error('Could not load the default credentials. Browse to ...')).reason,
      'unavailable',
    );
  });

  it('survives cycles and stops at depth', () => {
    const a = named('Error', 'a') as Error & { cause?: unknown };
    const b = named('Error', 'b', { cause: a });
    a.cause = b;
    assert.deepEqual(classifyFailure(a), { reason: 'unknown', retryable: false });
    let deep: unknown = named('ServerError', 'deep', { status: 500 });
    for (let i = 0; i < 20; i++) deep = named('Error', `level ${i}`, { cause: deep });
    assert.equal(classifyFailure(deep).status, undefined, 'a status past the depth guard is not read');
  });

  it('does not retry unknown errors', () => {
    assert.equal(isRetryable(new RangeError('Invalid response from metadata service')), false);
  });

  it('keeps a PasswordlessError’s own decision, and finds the status under it', () => {
    const wrapped = new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'x', {
      retryable: true,
      cause: defaultAzureCredentialError(named('ServerError', 'busy', { status: 503 })),
    });
    assert.deepEqual(classifyFailure(wrapped), { reason: 'server', retryable: true, status: 503 });
  });
});

describe('minimumRetryDelayMs', () => {
  it('waits Retry-After where known, else a floor for throttling and unexplained endpoint failures', () => {
    assert.equal(minimumRetryDelayMs(gaxiosError(429, new Headers({ 'retry-after': '3' })), NOW), 3_000);
    assert.equal(
      minimumRetryDelayMs(defaultAzureCredentialError(named('ServerError', 'throttled', { status: 429 }))),
      UNKNOWN_RETRY_AFTER_MS,
    );
    assert.equal(minimumRetryDelayMs(named('ServerError', 'busy', { status: 503 })), undefined);
  });
});
