import { getMetricsFromIterator, type PromMetrics } from 'prom2javascript';

/**
 * Parses Prometheus text with a parser that is not ours (prom2javascript). Not parse-prometheus-text-format:
 * it merges the series of a histogram that has labels into one, and drops their sums and counts.
 */
export function parsePrometheus(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
}
