import type { MetricAttributes, MetricFamily, MetricsSnapshot } from './registry.ts';

/** The content type of {@link renderPrometheus}'s text (the exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Renders a snapshot in the Prometheus text exposition format 0.0.4, named as OpenTelemetry's own
 * Prometheus exporter names them, so that dashboards read both alike: `.` becomes `_`, a unit in
 * seconds adds `_seconds`, counters end in `_total`, histograms give `_bucket` (with `le`), `_sum` and
 * `_count`; an up-down counter is a gauge. Every family has its `# HELP` and `# TYPE` lines, samples or not.
 *
 * @example
 * import { createTelemetry, renderPrometheus } from 'pg-passwordless';
 *
 * const telemetry = createTelemetry();
 * const proxy = telemetry.proxy({ cloud: 'azure', plugin: 'azure' });
 * proxy.sessionOpened();
 * const text = renderPrometheus(telemetry.snapshot());
 * console.log(text.split('\n').filter((line) => line.startsWith('pg_passwordless_proxy_sessions')));
 * // [ 'pg_passwordless_proxy_sessions{cloud="azure",plugin="azure"} 1' ]
 */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  return snapshot.families.map(renderFamily).join('');
}

function renderFamily(family: MetricFamily): string {
  const name = prometheusName(family);
  const type = family.type === 'up-down-counter' ? 'gauge' : family.type;
  const lines = [`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${type}`];
  if (family.type === 'histogram') {
    for (const sample of family.samples) {
      for (const bucket of sample.buckets) {
        lines.push(
          `${name}_bucket${labels(sample.attributes, { le: formatValue(bucket.le) })} ${bucket.count}`,
        );
      }
      lines.push(`${name}_sum${labels(sample.attributes)} ${formatValue(sample.sum)}`);
      lines.push(`${name}_count${labels(sample.attributes)} ${sample.count}`);
    }
  } else {
    for (const sample of family.samples) {
      lines.push(`${name}${labels(sample.attributes)} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The name Prometheus sees, as OpenTelemetry's compatibility rules derive it: characters outside
 * `[a-zA-Z0-9_:]` become `_`, `s` adds `_seconds` (other units in braces are annotations, dropped), and
 * a counter ends in `_total`.
 *
 * @example
 * console.log(prometheusName({ name: 'pg_passwordless.token.fetch.duration', unit: 's', type: 'histogram' }));
 * // pg_passwordless_token_fetch_duration_seconds
 * console.log(prometheusName({ name: 'pg_passwordless.token.fetches', unit: '{fetch}', type: 'counter' }));
 * // pg_passwordless_token_fetches_total
 */
export function prometheusName(family: Pick<MetricFamily, 'name' | 'unit' | 'type'>): string {
  let name = family.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (/^[0-9]/.test(name)) name = `_${name}`;
  if (family.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (family.type === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

function labels(attributes: MetricAttributes, extra: Record<string, string> = {}): string {
  const pairs = [...Object.entries(attributes), ...Object.entries(extra)].map(
    ([key, value]) => `${labelName(key)}="${escapeLabelValue(value)}"`,
  );
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** `error.code` -> `error_code`: label names are `[a-zA-Z_][a-zA-Z0-9_]*`. */
function labelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** The format's escapes: backslash, double quote and line feed in label values. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** In HELP text only backslash and line feed are escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}
