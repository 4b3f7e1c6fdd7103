/**
 * The part of `@opentelemetry/api` pg-passwordless touches, typed structurally (as the drivers are), so
 * that nothing in the published types names a package an app may not have installed. It is an optional
 * peer: loaded on first use, never at module load, and its absence is no error.
 */
import { createRequire } from 'node:module';

export type OtelAttributes = Record<string, string | number>;

/** The API's Context: opaque here. */
export interface OtelContext {
  getValue(key: symbol): unknown;
}

export interface OtelSpan {
  setAttribute(key: string, value: string | number): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

export interface OtelTracer {
  startSpan(
    name: string,
    options?: { attributes?: OtelAttributes; root?: boolean },
    context?: OtelContext,
  ): OtelSpan;
}

export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

export interface OtelMeter {
  createCounter(
    name: string,
    options?: OtelInstrumentOptions,
  ): { add(value: number, attributes?: OtelAttributes): void };
  createUpDownCounter(
    name: string,
    options?: OtelInstrumentOptions,
  ): { add(value: number, attributes?: OtelAttributes): void };
  createHistogram(
    name: string,
    options?: OtelInstrumentOptions,
  ): { record(value: number, attributes?: OtelAttributes): void };
  createObservableGauge(
    name: string,
    options?: OtelInstrumentOptions,
  ): {
    addCallback(
      callback: (result: { observe(value: number, attributes?: OtelAttributes): void }) => void,
    ): void;
  };
}

export interface OtelApi {
  metrics: { getMeterProvider(): { getMeter(name: string): OtelMeter } };
  trace: {
    getTracer(name: string): OtelTracer;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
  };
  context: {
    active(): OtelContext;
    with<T>(context: OtelContext, fn: () => T): T;
  };
  SpanStatusCode: { ERROR: number };
}

/**
 * Loads `@opentelemetry/api` on first use, synchronously, once. Synchronously so that the very first
 * fetch of a process (the cold start an operator wants to see) already has its span, in the caller's
 * trace, without waiting on an import: the API is a small CommonJS package, and `require` finds the one
 * instance the OpenTelemetry SDKs (CommonJS too) registered their providers with. A failed load (not
 * installed, or broken) leaves telemetry to the in-process registry alone, without a word, and is not
 * tried again.
 *
 * @example
 * const absent = createOtelLoader(() => {
 *   throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' });
 * });
 * console.log(absent(), absent()); // undefined undefined
 */
export function createOtelLoader(
  requireApi: () => unknown = () => createRequire(import.meta.url)('@opentelemetry/api'),
): () => OtelApi | undefined {
  let api: OtelApi | null | undefined;
  return () => {
    if (api === undefined) {
      try {
        api = requireApi() as OtelApi;
      } catch {
        api = null;
      }
    }
    return api ?? undefined;
  };
}
