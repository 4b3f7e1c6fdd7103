// The recordings as OpenTelemetry receives them, with the real @opentelemetry/sdk-metrics (an in-memory
// exporter) and @opentelemetry/sdk-trace-base (an in-memory span exporter), and a real cloud SDK fetching
// from the emulator, which failed the first request on purpose: the fetch counts are the emulator's own
// (tokens issued, faults injected), the other counts the cache's own, the OpenTelemetry values equal the
// in-process registry's, and each fetch has its span in the app's request trace.
// One process per cloud (test/scenarios/telemetry.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, type Faults, startEmulator } from 'pg-passwordless-emulator';
import type { OtelApi } from '../../../src/core/telemetry/otel-api.ts';
import { runScenario } from '../../helpers/run-scenario.ts';

// The structural type the library loads the API as is the real API's shape (checked by tsc).
const realApi: OtelApi = await import('@opentelemetry/api');
void realApi;

interface Point {
  attributes: Record<string, string | number>;
  value: number | { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
}
interface Facts {
  requestSpan: { traceId: string; spanId: string };
  coldFailure?: string;
  stats: { fetches: number; fetchFailures: number; cacheHits: number; waits: number };
  expiresAtMs: number;
  otelMetrics: Array<{ name: string; unit: string; points: Point[] }>;
  spans: Array<{
    name: string;
    traceId: string;
    parentSpanId?: string;
    attributes: Record<string, string | number>;
    status: { code: number; message?: string };
  }>;
  registry: Array<{
    name: string;
    samples: Array<{ attributes: Record<string, string>; value?: number; count?: number }>;
  }>;
  hadToken: boolean;
  leaked: boolean;
}

/**
 * The first token request fails, once, in a way one fetch sees as one failed request: Azure's SDK does
 * not retry (the plugin turns its retries off), so a 503 is one failed fetch, and ours retries it; gaxios
 * retries a 503 on its own, not a 403, which no one retries (the first pool's logins fail).
 */
const CLOUDS: Record<'azure' | 'gcp', { faults: Faults; coldFails: boolean }> = {
  azure: { faults: { status: 503, count: 1 }, coldFails: false },
  gcp: { faults: { status: 403, count: 1 }, coldFails: true },
};

describe('OpenTelemetry, with the real SDKs, against the emulator', { concurrency: 2 }, () => {
  for (const cloud of ['azure', 'gcp'] as const) {
    describe(cloud, () => {
      let emulator: Emulator;
      let facts: Facts;
      let issued = 0;
      let faulted = 0;
      const labels = { cloud, plugin: cloud };

      before(async () => {
        emulator = await startEmulator({ cloud });
        const before = emulator.counters();
        emulator.setFaults(CLOUDS[cloud].faults);
        const result = await runScenario('telemetry.ts', [cloud], emulator.env);
        assert.equal(result.code, 0, result.stderr);
        facts = result.output as unknown as Facts;
        issued = emulator.counters().tokensIssued - before.tokensIssued;
        faulted = emulator.counters().faultsInjected - before.faultsInjected;
      });
      after(() => emulator?.stop());

      const metric = (name: string) => {
        const found = facts.otelMetrics.find((candidate) => candidate.name === name);
        assert.ok(found, `${name} was exported`);
        return found;
      };
      const total = (name: string, attributes: Record<string, string>) =>
        metric(name)
          .points.filter((point) =>
            Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
          )
          .reduce((sum, point) => sum + (point.value as number), 0);

      it('counts fetches by result as the emulator counted its answers', () => {
        assert.equal(Boolean(facts.coldFailure), CLOUDS[cloud].coldFails, String(facts.coldFailure));
        assert.equal(faulted, 1);
        assert.equal(issued, 1);
        assert.equal(total('pg_passwordless.token.fetches', { result: 'ok' }), issued);
        assert.equal(total('pg_passwordless.token.fetches', { result: 'error' }), faulted);
        const failed = metric('pg_passwordless.token.fetches').points.find(
          (point) => point.attributes.result === 'error',
        );
        assert.deepEqual(Object.keys(failed?.attributes ?? {}).sort(), [
          'cloud',
          'error.code',
          'plugin',
          'result',
        ]);
        assert.match(String(failed?.attributes['error.code']), /^[A-Z_]+$/);
        for (const point of metric('pg_passwordless.token.fetches').points) {
          assert.equal(point.attributes.cloud, cloud);
          assert.equal(point.attributes.plugin, cloud);
        }
        assert.equal(facts.stats.fetches, issued + faulted, 'and as the cache counted its fetches');
      });

      it('counts hits, waits and fetch durations as the cache did, and reports the token’s expiry', () => {
        assert.equal(total('pg_passwordless.token.cache.hits', labels), facts.stats.cacheHits);
        assert.ok(facts.stats.cacheHits >= 3, 'the warm pool’s three logins, at least, served at once');
        assert.equal(total('pg_passwordless.token.waits', labels), facts.stats.waits);
        assert.ok(facts.stats.waits >= 5, String(facts.stats.waits));
        const durations = metric('pg_passwordless.token.fetch.duration');
        assert.equal(durations.unit, 's');
        const histogram = durations.points[0]?.value as { count: number; buckets: { boundaries: number[] } };
        assert.equal(histogram.count, issued + faulted);
        assert.deepEqual(
          histogram.buckets.boundaries,
          [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        );
        assert.deepEqual(metric('pg_passwordless.token.expires_at').points, [
          { attributes: labels, value: facts.expiresAtMs / 1_000 },
        ]);
      });

      it('sends OpenTelemetry the same values the in-process registry (and so /metrics) holds', () => {
        const registered = (name: string) =>
          facts.registry.find((family) => family.name === name)?.samples ?? [];
        for (const name of [
          'pg_passwordless.token.fetches',
          'pg_passwordless.token.cache.hits',
          'pg_passwordless.token.waits',
        ]) {
          const fromOtel = metric(name)
            .points.map((point) => JSON.stringify([point.attributes, point.value]))
            .sort();
          const fromRegistry = registered(name)
            .map((sample) => JSON.stringify([sample.attributes, sample.value]))
            .sort();
          assert.deepEqual(fromOtel, fromRegistry, name);
        }
      });

      it('puts one span per fetch in the app’s request trace, with its cloud, plugin, attempt and outcome', () => {
        const fetchSpans = facts.spans.filter((span) => span.name === 'pg_passwordless.token.fetch');
        assert.equal(fetchSpans.length, issued + faulted);
        for (const span of fetchSpans) {
          assert.equal(span.traceId, facts.requestSpan.traceId);
          assert.equal(span.parentSpanId, facts.requestSpan.spanId, 'a child of the caller’s active span');
          assert.equal(span.attributes.cloud, cloud);
          assert.equal(span.attributes.plugin, cloud);
        }
        const failed = fetchSpans.filter((span) => span.attributes.outcome === 'error');
        assert.equal(failed.length, 1);
        assert.equal(failed[0]?.status.code, 2, 'SpanStatusCode.ERROR');
        assert.match(String(failed[0]?.status.message), /^[A-Z_]+: /);
        const attempts = fetchSpans.map((span) => `${span.attributes.attempt}:${span.attributes.outcome}`);
        // Azure: our retry, within one fetch; GCP: two fetches, the first refused for good.
        assert.deepEqual(attempts, cloud === 'azure' ? ['1:error', '2:ok'] : ['1:error', '1:ok']);
      });

      it('records no token anywhere', () => {
        assert.equal(facts.hadToken, true);
        assert.equal(facts.leaked, false);
      });
    });
  }
});
