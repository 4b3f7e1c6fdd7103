import { INSTRUMENTS, type InstrumentSpec } from './instruments.ts';

/** Attributes of one series: the cloud and plugin, a result, an error code. Never a secret. */
export type MetricAttributes = Readonly<Record<string, string>>;

/** One series of a counter, up-down counter or gauge. */
export interface ValueSample {
  attributes: MetricAttributes;
  value: number;
}

/** One series of a histogram: cumulative counts per upper bound (the last one +Inf), sum and count. */
export interface HistogramSample {
  attributes: MetricAttributes;
  buckets: ReadonlyArray<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/**
 * One instrument and its current series: its OpenTelemetry name (`pg_passwordless.token.fetches`), unit
 * (`s`, `{fetch}`) and help text.
 */
export type MetricFamily =
  | {
      name: string;
      unit: string;
      help: string;
      type: 'counter' | 'up-down-counter' | 'gauge';
      samples: ValueSample[];
    }
  | { name: string; unit: string; help: string; type: 'histogram'; samples: HistogramSample[] };

/** Every instrument at one instant, in a fixed order; what a Prometheus renderer reads. */
export interface MetricsSnapshot {
  families: MetricFamily[];
}

/** A gauge's value as its owner reads it at collection time; undefined when it has none now. */
export interface GaugeReading {
  attributes: MetricAttributes;
  read(): number | undefined;
}

/**
 * The current values of the instruments in this process: counters and up-down counters added to,
 * histograms with fixed buckets, and gauges read from their owners when a snapshot is taken (a gauge
 * whose owner was closed, or collected, is gone from the next snapshot).
 *
 * @example
 * const registry = new MetricRegistry();
 * const hits = { name: 'pg_passwordless.token.cache.hits', kind: 'counter', unit: '{hit}', description: 'hits' } as const;
 * registry.add(hits, 1, { cloud: 'azure', plugin: 'azure' });
 * registry.add(hits, 2, { plugin: 'azure', cloud: 'azure' });
 * const family = registry.snapshot().families.find((family) => family.name === hits.name);
 * console.log(family?.samples); // [ { attributes: { cloud: 'azure', plugin: 'azure' }, value: 3 } ]
 */
export class MetricRegistry {
  readonly #sums = new Map<string, Map<string, ValueSample>>();
  readonly #histograms = new Map<string, Map<string, HistogramSample & { counts: number[] }>>();
  readonly #gauges = new Map<string, Set<WeakRef<GaugeReading>>>();

  add(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void {
    const series = seriesOf(this.#sums, spec.name);
    const key = attributesKey(attributes);
    const sample = series.get(key) ?? { attributes: { ...attributes }, value: 0 };
    sample.value += value;
    series.set(key, sample);
  }

  record(spec: InstrumentSpec, value: number, attributes: MetricAttributes): void {
    const bounds = spec.buckets ?? [];
    const series = seriesOf(this.#histograms, spec.name);
    const key = attributesKey(attributes);
    let sample = series.get(key);
    if (!sample) {
      sample = { attributes: { ...attributes }, buckets: [], sum: 0, count: 0, counts: bounds.map(() => 0) };
      series.set(key, sample);
    }
    const index = bounds.findIndex((bound) => value <= bound);
    if (index >= 0) sample.counts[index] = (sample.counts[index] ?? 0) + 1;
    sample.sum += value;
    sample.count++;
  }

  /**
   * Adds a gauge reading. It is held weakly: the owner keeps it alive (a token cache holds its own),
   * so a cache that is dropped without `close()` does not linger here. Returns what removes it.
   */
  watch(spec: InstrumentSpec, reading: GaugeReading): () => void {
    const readings = this.#gauges.get(spec.name) ?? new Set();
    this.#gauges.set(spec.name, readings);
    const ref = new WeakRef(reading);
    readings.add(ref);
    return () => readings.delete(ref);
  }

  /** A gauge's series now: per attribute set, the smallest value among its readings. */
  gaugeSamples(spec: InstrumentSpec): ValueSample[] {
    const byKey = new Map<string, ValueSample>();
    const readings = this.#gauges.get(spec.name) ?? new Set();
    for (const ref of readings) {
      const reading = ref.deref();
      if (!reading) {
        readings.delete(ref);
        continue;
      }
      const value = reading.read();
      if (value === undefined) continue;
      const key = attributesKey(reading.attributes);
      const known = byKey.get(key);
      if (!known || value < known.value) byKey.set(key, { attributes: { ...reading.attributes }, value });
    }
    return [...byKey.values()];
  }

  snapshot(): MetricsSnapshot {
    return { families: INSTRUMENTS.map((spec) => this.#family(spec)) };
  }

  #family(spec: InstrumentSpec): MetricFamily {
    const header = { name: spec.name, unit: spec.unit, help: spec.description };
    if (spec.kind === 'histogram') {
      const bounds = [...(spec.buckets ?? []), Number.POSITIVE_INFINITY];
      const samples = [...(this.#histograms.get(spec.name)?.values() ?? [])].map(
        ({ attributes, counts, sum, count }) => ({
          attributes,
          buckets: bounds.map((le, index) => ({ le, count: cumulative(counts, index, count) })),
          sum,
          count,
        }),
      );
      return { ...header, type: 'histogram', samples };
    }
    const samples =
      spec.kind === 'gauge'
        ? this.gaugeSamples(spec)
        : [...(this.#sums.get(spec.name)?.values() ?? [])].map((sample) => ({ ...sample }));
    return { ...header, type: spec.kind, samples };
  }
}

function seriesOf<T>(map: Map<string, Map<string, T>>, name: string): Map<string, T> {
  let series = map.get(name);
  if (!series) {
    series = new Map();
    map.set(name, series);
  }
  return series;
}

/** The same attributes in any order are the same series. */
function attributesKey(attributes: MetricAttributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Observations at or under the bound at `index`; the +Inf bucket (past the counts) holds them all. */
function cumulative(counts: number[], index: number, total: number): number {
  if (index >= counts.length) return total;
  return counts.slice(0, index + 1).reduce((sum, count) => sum + count, 0);
}
