import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

/** A metric family as parse-prometheus-text-format returns it (counters and gauges: one value per sample). */
export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => ParsedFamily[];

/** Metric and label names as the exposition format allows them. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses Prometheus text with a real parser of the format (parse-prometheus-text-format), then checks
 * what that parser lets pass: every family typed, names and label names legal,
 * every value a number, and the text ended by a newline (the parser drops a last line without one).
 */
export function parsePrometheus(text: string): ParsedFamily[] {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = parse(text);
  for (const family of families) {
    assert.match(family.name, METRIC_NAME);
    assert.ok(['COUNTER', 'GAUGE'].includes(family.type), `${family.name} has a TYPE: ${family.type}`);
    assert.ok(family.help.length > 0, `${family.name} has a HELP`);
    for (const sample of family.metrics) {
      assert.ok(Number.isFinite(Number(sample.value)), `${family.name}: ${sample.value} is a number`);
      for (const label of Object.keys(sample.labels ?? {})) assert.match(label, LABEL_NAME);
    }
  }
  return families;
}

/** The value of one sample: the family's sample whose labels include `labels`. */
export function sampleValue(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.find((candidate) => candidate.name === name);
  const sample = family?.metrics.find((candidate) =>
    Object.entries(labels).every(([key, value]) => candidate.labels?.[key] === value),
  );
  return sample === undefined ? undefined : Number(sample.value);
}
