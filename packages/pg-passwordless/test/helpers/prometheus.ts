import assert from 'node:assert/strict';
import { getMetricsFromIterator, type PromData, type PromMetrics } from 'prom2javascript';

/** Metric and label names as the exposition format allows them. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses Prometheus text with a parser that is not ours (prom2javascript; not
 * parse-prometheus-text-format, which merges the series of a labelled histogram into one and drops
 * their sums and counts), then checks what that parser lets pass: every family typed and described,
 * names and label names legal, and the text ended by a newline.
 */
export async function parsePrometheus(text: string): Promise<PromMetrics> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const metrics = await getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
  for (const [name, metric] of Object.entries(metrics)) {
    assert.match(name, METRIC_NAME);
    assert.ok(['counter', 'gauge', 'histogram'].includes(metric.type), `${name} has a TYPE: ${metric.type}`);
    assert.ok(metric.help.length > 0, `${name} has a HELP`);
    for (const sample of metric.data) {
      for (const label of Object.keys(sample.labels)) assert.match(label, LABEL_NAME);
    }
  }
  return metrics;
}

/** The value of one counter or gauge sample: the family's first sample whose labels include `labels`. */
export function sampleValue(
  metrics: PromMetrics,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const samples = (metrics[name]?.data ?? []) as PromData[];
  const sample = samples.find((candidate) =>
    Object.entries(labels).every(([key, value]) => candidate.labels[key] === value),
  );
  return sample?.value;
}
