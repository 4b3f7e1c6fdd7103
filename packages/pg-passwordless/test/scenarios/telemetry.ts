// One cloud per process (the Azure SDK keeps managed-identity state process-wide, and OpenTelemetry's
// providers are global): the real OpenTelemetry SDKs registered as an app registers them, then pools made
// with createPool, from the emulator's environment, inside an app's own span. The parent set the
// emulator's faults. Prints one JSON line: the metrics the in-memory exporter received, the finished
// spans, the in-process registry's counts and the cache's own stats; never a token.
// Usage: telemetry.ts <azure|gcp>   env: the emulator's.
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type pg from 'pg';
import { createPool } from '../../src/adapters/pg.ts';
import { sharedTelemetry } from '../../src/core/telemetry/telemetry.ts';

const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
// Exported on demand (forceFlush) only: the interval is longer than the scenario.
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
const spanExporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }),
);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const url = process.env.DATABASE_URL as string;
const app = trace.getTracer('orders-api');

/** Opens `count` connections at once (each a new login: pg asks for the password), then ends the pool. */
async function connectAtOnce(
  count: number,
): Promise<{ failure?: string; pool: Awaited<ReturnType<typeof createPool>> }> {
  const pool = await createPool(url, { pool: { max: count } });
  try {
    const clients = await Promise.all(
      Array.from({ length: count }, () => pool.connect() as Promise<pg.PoolClient>),
    );
    await clients[0]?.query('select 1');
    for (const client of clients) client.release();
    return { pool };
  } catch (error) {
    return { failure: (error as { code?: string }).code ?? String(error), pool };
  }
}

let secret: string | undefined;
// The app's request span: the token fetches its connections cause are its children.
const outcome = await app.startActiveSpan('GET /orders', async (request) => {
  const cold = await connectAtOnce(5);
  const retried = cold.failure ? await connectAtOnce(5) : undefined;
  const token = (retried ?? cold).pool.token;
  secret = await token?.getToken();
  await cold.pool.end();
  await retried?.pool.end();
  const warm = await connectAtOnce(3); // the same cache: three logins served at once
  await warm.pool.end();
  request.end();
  return {
    requestSpan: request.spanContext(),
    coldFailure: cold.failure,
    stats: token?.stats(),
    expiresAtMs: token?.expiresAtMs(),
  };
});

await reader.forceFlush();
const exported = metricExporter.getMetrics().at(-1);
const otelMetrics = (exported?.scopeMetrics ?? [])
  .filter((scope) => scope.scope.name === 'pg-passwordless')
  .flatMap((scope) => scope.metrics)
  .map((metric) => ({
    name: metric.descriptor.name,
    unit: metric.descriptor.unit,
    points: metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })),
  }));
const spans = spanExporter.getFinishedSpans().map((span) => ({
  name: span.name,
  traceId: span.spanContext().traceId,
  spanId: span.spanContext().spanId,
  parentSpanId: span.parentSpanContext?.spanId,
  attributes: span.attributes,
  status: span.status,
}));
const registry = sharedTelemetry.snapshot().families.map((family) => ({
  name: family.name,
  samples: family.samples.map((sample) =>
    'value' in sample
      ? { attributes: sample.attributes, value: sample.value }
      : { attributes: sample.attributes, count: sample.count },
  ),
}));
const facts = { ...outcome, otelMetrics, spans, registry };
// Nothing recorded may hold the token: the dump is checked for it here, where the token is at hand.
const dump = JSON.stringify(facts);
console.log(
  JSON.stringify({ ...facts, hadToken: (secret?.length ?? 0) > 0, leaked: !secret || dump.includes(secret) }),
);
