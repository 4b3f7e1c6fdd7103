import { INSTRUMENTS, type InstrumentSpec } from './instruments.ts';
import type { OtelApi, OtelAttributes, OtelContext, OtelMeter, OtelSpan } from './otel-api.ts';
import type { MetricAttributes, ValueSample } from './registry.ts';

/** The instrumentation scope of the meter and the tracer. */
const SCOPE = 'pg-passwordless';

/** How a span ended: attributes to add, and the failure's text when it failed. */
export interface SpanEnd {
  attributes: OtelAttributes;
  failure?: string;
}

/** The recordings, as OpenTelemetry takes them (nothing at all when the API or a provider is absent). */
export interface OtelBridge {
  add(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void;
  record(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void;
  /**
   * Runs `run` inside a span: a child of the caller's active span, or a root span (`root`) for work
   * no caller asked for. `end` names the outcome from the error (undefined on success).
   */
  inSpan<T>(
    name: string,
    attributes: OtelAttributes,
    root: boolean,
    run: () => Promise<T>,
    end: (error: unknown) => SpanEnd,
  ): Promise<T>;
}

type Adder = { add(value: number, attributes?: OtelAttributes): void };
type Recorder = { record(value: number, attributes?: OtelAttributes): void };

/** One provider's instruments, by name. */
interface BoundInstruments {
  provider: unknown;
  adders: Map<string, Adder>;
  recorders: Map<string, Recorder>;
}

/**
 * Sends every recording to the global meter provider's `pg-passwordless` meter, the gauges read at
 * collection from `gauges`. The instruments are made again when another provider is registered: the
 * API's metrics, unlike its traces, have no proxy provider, so a meter taken before the app registered
 * its provider would stay a no-op for good.
 *
 * @example
 * // A loader that found no API: the work runs as it is, and nothing is recorded.
 * const bridge = createOtelBridge(() => undefined, () => []);
 * console.log(await bridge.inSpan('work', {}, true, async () => 42, () => ({ attributes: {} }))); // 42
 */
export function createOtelBridge(
  loadApi: () => OtelApi | undefined,
  gauges: (spec: InstrumentSpec) => ValueSample[],
): OtelBridge {
  let bound: BoundInstruments | undefined;
  const instrumentsOf = (api: OtelApi): BoundInstruments => {
    const provider = api.metrics.getMeterProvider();
    if (bound?.provider !== provider) bound = bind(provider, provider.getMeter(SCOPE), gauges);
    return bound;
  };
  return {
    add: (spec, value, attributes) =>
      quietly(loadApi, (api) => instrumentsOf(api).adders.get(spec.name)?.add(value, attributes)),
    record: (spec, value, attributes) =>
      quietly(loadApi, (api) => instrumentsOf(api).recorders.get(spec.name)?.record(value, attributes)),
    async inSpan(name, attributes, root, run, end) {
      const api = loadApi();
      const started = api ? startSpan(api, name, attributes, root) : undefined;
      if (!api || !started) return run();
      const finish = (error: unknown) =>
        quietly(loadApi, () => {
          const ending = end(error);
          for (const [key, value] of Object.entries(ending.attributes)) started.span.setAttribute(key, value);
          if (ending.failure !== undefined)
            started.span.setStatus({ code: api.SpanStatusCode.ERROR, message: ending.failure });
          started.span.end();
        });
      try {
        const result = await api.context.with(started.context, run);
        finish(undefined);
        return result;
      } catch (error) {
        finish(error);
        throw error;
      }
    },
  };
}

/** A span, child of the active one unless `root`, and the context that makes it the active one. */
function startSpan(
  api: OtelApi,
  name: string,
  attributes: OtelAttributes,
  root: boolean,
): { span: OtelSpan; context: OtelContext } | undefined {
  try {
    const parent = api.context.active();
    const span = api.trace.getTracer(SCOPE).startSpan(name, { attributes, root }, parent);
    return { span, context: api.trace.setSpan(parent, span) };
  } catch {
    return undefined; // the fetch goes on without its span
  }
}

/** Telemetry never breaks token delivery: an SDK that throws while recording is ignored. */
function quietly(loadApi: () => OtelApi | undefined, action: (api: OtelApi) => void): void {
  const api = loadApi();
  if (!api) return;
  try {
    action(api);
  } catch {
    // The recording is lost; the connection it describes is not.
  }
}

/** Makes every instrument on one provider's meter; the gauges are read when the SDK collects. */
function bind(
  provider: unknown,
  meter: OtelMeter,
  gauges: (spec: InstrumentSpec) => ValueSample[],
): BoundInstruments {
  const bound: BoundInstruments = { provider, adders: new Map(), recorders: new Map() };
  for (const spec of INSTRUMENTS) {
    const options = { description: spec.description, unit: spec.unit };
    if (spec.kind === 'counter') bound.adders.set(spec.name, meter.createCounter(spec.name, options));
    if (spec.kind === 'up-down-counter') {
      bound.adders.set(spec.name, meter.createUpDownCounter(spec.name, options));
    }
    if (spec.kind === 'histogram') {
      const advice = { explicitBucketBoundaries: [...(spec.buckets ?? [])] };
      bound.recorders.set(spec.name, meter.createHistogram(spec.name, { ...options, advice }));
    }
    if (spec.kind === 'gauge') {
      // The same readings the in-process registry shows.
      meter.createObservableGauge(spec.name, options).addCallback((result) => {
        for (const sample of gauges(spec)) result.observe(sample.value, sample.attributes);
      });
    }
  }
  return bound;
}
