// What a token cache records, on its own clock: each real fetch by result (and error code), its
// duration, callers served at once and callers that waited, the current token's expiry; the same
// counts as its own stats(). Telemetry never stands between a caller and its token.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordlessError } from '../../../src/core/errors.ts';
import type { MetricFamily } from '../../../src/core/telemetry/registry.ts';
import { createTelemetry, type Telemetry } from '../../../src/core/telemetry/telemetry.ts';
import { createTokenCache } from '../../../src/core/token-cache.ts';
import { driveUntilSettled, ManualClock, settle } from '../../helpers/manual-clock.ts';
import { ScriptedSource } from '../../helpers/scripted-source.ts';

const HOUR = 60 * 60_000;
const LABELS = { cloud: 'azure', plugin: 'azure' };
let loads = 0;
const withoutOpenTelemetry = () => {
  loads++;
  throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' });
};
const outage = () =>
  new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'GET http://127.0.0.1/msi/token: 503', { retryable: true });

function family(telemetry: Telemetry, name: string): MetricFamily {
  const found = telemetry.snapshot().families.find((candidate) => candidate.name === name);
  assert.ok(found, name);
  return found;
}

function values(telemetry: Telemetry, name: string) {
  const found = family(telemetry, name);
  assert.notEqual(found.type, 'histogram');
  return found.samples.map((sample) => ({
    ...sample.attributes,
    value: (sample as { value: number }).value,
  }));
}

function setup(steps: ConstructorParameters<typeof ScriptedSource>[1], labels = LABELS) {
  const clock = new ManualClock();
  const source = new ScriptedSource(clock, steps);
  const telemetry = createTelemetry({ loadOpenTelemetry: withoutOpenTelemetry });
  const cache = createTokenCache({
    source,
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    labels,
    telemetry,
  });
  return { clock, source, telemetry, cache };
}

describe('token cache telemetry', () => {
  it('records each fetch by result and code, its duration on the cache’s clock, hits, waits and the expiry', async () => {
    const { clock, source, telemetry, cache } = setup([
      'hold',
      { error: outage() },
      { token: 't1', lifetimeMs: HOUR },
    ]);
    const first = cache.getToken();
    await settle();
    await clock.advance(2_000); // the first attempt is held for 2 s, then fails with a 503
    source.release();
    await settle(); // the failure is seen at 2 s; the retry waits on the clock
    assert.equal(await driveUntilSettled(clock, first), 't1');
    const fetchedAtMs = clock.now();
    for (let caller = 0; caller < 3; caller++) assert.equal(await cache.getToken(), 't1');

    assert.deepEqual(values(telemetry, 'pg_passwordless.token.fetches'), [
      { ...LABELS, result: 'error', 'error.code': 'TOKEN_ENDPOINT_FAILED', value: 1 },
      { ...LABELS, result: 'ok', value: 1 },
    ]);
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.cache.hits'), [{ ...LABELS, value: 3 }]);
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.waits'), [{ ...LABELS, value: 1 }]);
    const { fetches, fetchFailures, cacheHits, waits } = cache.stats();
    assert.deepEqual(
      { fetches, fetchFailures, cacheHits, waits },
      { fetches: 2, fetchFailures: 1, cacheHits: 3, waits: 1 },
    );
    const duration = family(telemetry, 'pg_passwordless.token.fetch.duration');
    assert.equal(duration.type, 'histogram');
    assert.deepEqual(
      duration.samples.map(({ attributes, sum, count }) => ({ attributes, sum, count })),
      [{ attributes: LABELS, sum: 2, count: 2 }],
      'the held attempt took 2 s of the cache’s clock, the second none',
    );
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.expires_at'), [
      { ...LABELS, value: (fetchedAtMs + HOUR) / 1_000 },
    ]);
    cache.close();
    assert.deepEqual(
      values(telemetry, 'pg_passwordless.token.expires_at'),
      [],
      'a closed cache has no token',
    );
  });

  it('reports the earliest expiry when several caches share the attributes, each set of attributes apart', async () => {
    const clock = new ManualClock();
    const telemetry = createTelemetry({ loadOpenTelemetry: withoutOpenTelemetry });
    const cacheOf = (lifetimeMs: number, labels: typeof LABELS) =>
      createTokenCache({
        source: new ScriptedSource(clock, [{ token: `t-${lifetimeMs}`, lifetimeMs }]),
        clock,
        labels,
        telemetry,
      });
    const caches = [
      cacheOf(HOUR, LABELS),
      cacheOf(15 * 60_000, LABELS),
      cacheOf(HOUR, { cloud: 'gcp', plugin: 'gcp' }),
    ];
    for (const cache of caches) await cache.getToken();
    const nowSeconds = clock.now() / 1_000;
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.expires_at'), [
      { ...LABELS, value: nowSeconds + 15 * 60 },
      { cloud: 'gcp', plugin: 'gcp', value: nowSeconds + 3_600 },
    ]);
    caches[1]?.close();
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.expires_at')[0], {
      ...LABELS,
      value: nowSeconds + 3_600,
    });
    for (const cache of caches) cache.close();
  });

  it('labels a cache made by hand as unknown, and loads OpenTelemetry once, whose absence changes nothing', async () => {
    loads = 0;
    const clock = new ManualClock();
    const telemetry = createTelemetry({ loadOpenTelemetry: withoutOpenTelemetry });
    const cache = createTokenCache({
      source: new ScriptedSource(clock, [{ token: 't', lifetimeMs: HOUR }]),
      clock,
      telemetry,
    });
    for (let caller = 0; caller < 5; caller++) assert.equal(await cache.getToken(), 't');
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.fetches'), [
      { cloud: 'unknown', plugin: 'unknown', result: 'ok', value: 1 },
    ]);
    assert.equal(loads, 1, 'one failed load, not one per recording');
    cache.close();
  });

  it('hands out tokens when the OpenTelemetry SDK throws at every call', async () => {
    const broken = () => {
      throw new Error('a broken SDK');
    };
    const api = {
      metrics: { getMeterProvider: broken },
      trace: { getTracer: broken, setSpan: broken },
      context: { active: broken, with: broken },
      SpanStatusCode: { ERROR: 2 },
    };
    const clock = new ManualClock();
    const telemetry = createTelemetry({ loadOpenTelemetry: () => api });
    const cache = createTokenCache({
      source: new ScriptedSource(clock, [{ token: 't', lifetimeMs: HOUR }]),
      clock,
      labels: LABELS,
      telemetry,
    });
    assert.equal(await cache.getToken(), 't');
    assert.equal(await cache.getToken(), 't');
    assert.deepEqual(values(telemetry, 'pg_passwordless.token.cache.hits'), [{ ...LABELS, value: 1 }]);
    cache.close();
  });
});
