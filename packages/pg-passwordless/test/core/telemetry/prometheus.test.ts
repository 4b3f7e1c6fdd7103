// The Prometheus text of the in-process registry, read back with a parser that is not ours: every
// instrument's family (HELP and TYPE even before it has a sample), the names Prometheus sees, counters,
// gauges, histograms with their cumulative buckets per series, and label values that need escaping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prometheusName, renderPrometheus } from '../../../src/core/telemetry/prometheus.ts';
import { MetricRegistry } from '../../../src/core/telemetry/registry.ts';
import { createTelemetry } from '../../../src/core/telemetry/telemetry.ts';
import { parsePrometheus } from '../../helpers/prometheus.ts';

/** No OpenTelemetry here: these tests read the in-process registry only. */
const withoutOpenTelemetry = () => {
  throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });
};

describe('Prometheus text', () => {
  it('names every instrument as an OpenTelemetry Prometheus exporter would, with HELP and TYPE before any sample', async () => {
    const telemetry = createTelemetry({ loadOpenTelemetry: withoutOpenTelemetry });
    const text = renderPrometheus(telemetry.snapshot());
    const parsed = await parsePrometheus(text);
    assert.deepEqual(
      Object.entries(parsed).map(([name, metric]) => [name, metric.type, metric.data.length]),
      [
        ['pg_passwordless_token_fetches_total', 'counter', 0],
        ['pg_passwordless_token_fetch_duration_seconds', 'histogram', 0],
        ['pg_passwordless_token_cache_hits_total', 'counter', 0],
        ['pg_passwordless_token_waits_total', 'counter', 0],
        ['pg_passwordless_token_expires_at_seconds', 'gauge', 0],
        ['pg_passwordless_proxy_sessions', 'gauge', 0],
        ['pg_passwordless_proxy_logins_total', 'counter', 0],
        ['pg_passwordless_proxy_login_duration_seconds', 'histogram', 0],
      ],
    );
    for (const metric of Object.values(parsed)) assert.ok(metric.help.length > 20, metric.help);
    assert.ok(text.endsWith('\n'), 'the last line ends, as the format wants');
  });

  it('renders the proxy’s sessions, logins by result and login durations per series', async () => {
    const telemetry = createTelemetry({ loadOpenTelemetry: withoutOpenTelemetry });
    const azure = telemetry.proxy({ cloud: 'azure', plugin: 'azure' });
    const gcp = telemetry.proxy({ cloud: 'gcp', plugin: 'gcp' });
    azure.sessionOpened();
    azure.sessionOpened();
    azure.sessionClosed();
    gcp.sessionOpened();
    // On a bound (0.005) counts in that bucket, as `le` says: less or equal.
    for (const seconds of [0.004, 0.005, 0.3, 45]) azure.login('ok', seconds);
    azure.login('refused', 0.02);
    gcp.login('failed', 10);
    const parsed = await parsePrometheus(renderPrometheus(telemetry.snapshot()));

    assert.deepEqual(parsed.pg_passwordless_proxy_sessions?.data, [
      { labels: { cloud: 'azure', plugin: 'azure' }, value: 1 },
      { labels: { cloud: 'gcp', plugin: 'gcp' }, value: 1 },
    ]);
    assert.deepEqual(parsed.pg_passwordless_proxy_logins_total?.data, [
      { labels: { cloud: 'azure', plugin: 'azure', result: 'ok' }, value: 4 },
      { labels: { cloud: 'azure', plugin: 'azure', result: 'refused' }, value: 1 },
      { labels: { cloud: 'gcp', plugin: 'gcp', result: 'failed' }, value: 1 },
    ]);
    const [azureLogins, gcpLogins] = (parsed.pg_passwordless_proxy_login_duration_seconds?.data ??
      []) as Array<{
      labels: Record<string, string>;
      buckets: Record<string, number>;
      sum: number;
      count: number;
    }>;
    assert.deepEqual(azureLogins?.labels, { cloud: 'azure', plugin: 'azure' });
    assert.deepEqual(azureLogins?.buckets, {
      '0.005': 2,
      '0.01': 2,
      '0.025': 3,
      '0.05': 3,
      '0.1': 3,
      '0.25': 3,
      '0.5': 4,
      '1': 4,
      '2.5': 4,
      '5': 4,
      '10': 4,
      '30': 4,
      '+Inf': 5,
    });
    assert.equal(azureLogins?.count, 5);
    assert.ok(Math.abs((azureLogins?.sum ?? 0) - 45.329) < 1e-9, String(azureLogins?.sum));
    assert.deepEqual(gcpLogins?.labels, { cloud: 'gcp', plugin: 'gcp' });
    assert.equal(gcpLogins?.buckets['5'], 0);
    assert.equal(gcpLogins?.buckets['10'], 1);
    assert.equal(gcpLogins?.count, 1);
  });

  it('escapes label values (backslash, double quote, line feed) and turns dots in attribute names into _', async () => {
    const registry = new MetricRegistry();
    const cloud = 'my "cloud"\\with\na line feed';
    const fetches = registry.snapshot().families[0];
    assert.equal(fetches?.name, 'pg_passwordless.token.fetches');
    registry.add(
      { name: 'pg_passwordless.token.fetches', kind: 'counter', unit: '{fetch}', description: '' },
      2,
      { cloud, plugin: 'custom', result: 'error', 'error.code': 'TOKEN_ENDPOINT_FAILED' },
    );
    const text = renderPrometheus(registry.snapshot());
    assert.ok(
      text.includes('cloud="my \\"cloud\\"\\\\with\\na line feed"'),
      'escaped as the format says, on one line',
    );
    const parsed = await parsePrometheus(text);
    assert.deepEqual(parsed.pg_passwordless_token_fetches_total?.data, [
      {
        labels: { cloud, plugin: 'custom', result: 'error', error_code: 'TOKEN_ENDPOINT_FAILED' },
        value: 2,
      },
    ]);
  });

  it('derives names as OpenTelemetry’s compatibility rules do', () => {
    assert.equal(
      prometheusName({ name: 'pg_passwordless.token.expires_at', unit: 's', type: 'gauge' }),
      'pg_passwordless_token_expires_at_seconds',
    );
    assert.equal(
      prometheusName({ name: 'pg_passwordless.proxy.sessions', unit: '{session}', type: 'up-down-counter' }),
      'pg_passwordless_proxy_sessions',
    );
    assert.equal(prometheusName({ name: 'requests_total', unit: '1', type: 'counter' }), 'requests_total');
    assert.equal(prometheusName({ name: '2xx-answers', unit: '', type: 'gauge' }), '_2xx_answers');
  });
});
