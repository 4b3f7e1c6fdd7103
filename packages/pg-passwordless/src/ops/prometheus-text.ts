/** One metric as Prometheus's text format (0.0.4) lists it: its samples under one HELP and TYPE. */
export interface MetricFamily {
  /** The samples' name, as scraped: `pg_passwordless_proxy_logins_total`. */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: ReadonlyArray<{ labels?: Record<string, string>; value: number }>;
}

/**
 * Writes metric families in Prometheus's text exposition format 0.0.4: `# HELP` and `# TYPE` lines,
 * then one line per sample, label values escaped (`\\`, `"`, newline) as the format wants, and every
 * line ended by "\n", the last one too. A family without samples is left out.
 *
 * @example
 * console.log(prometheusText([
 *   { name: 'demo_logins_total', help: 'Logins.', type: 'counter', samples: [{ labels: { result: 'ok' }, value: 3 }] },
 * ]));
 * // # HELP demo_logins_total Logins.
 * // # TYPE demo_logins_total counter
 * // demo_logins_total{result="ok"} 3
 */
export function prometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${labelSet(sample.labels)} ${sampleValue(sample.value)}`);
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}

function labelSet(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
