// The proxy's Prometheus text, read back by a real parser of the format.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prometheusText } from '../../src/ops/prometheus-text.ts';
import { proxyMetricsText } from '../../src/ops/proxy-metrics.ts';
import type { ProxyStats } from '../../src/proxy/proxy.ts';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';

describe('Prometheus text', () => {
  it('escapes label values and help text as the format wants, and a parser reads them back', () => {
    const listen = 'C:\\sock "a"\nb';
    const text = prometheusText([
      {
        name: 'demo_total',
        help: 'A line\nand a back\\slash.',
        type: 'counter',
        samples: [
          { labels: { listen, result: 'ok' }, value: 3 },
          { labels: { listen, result: 'refused' }, value: 0 },
        ],
      },
      { name: 'demo_empty', help: 'Nothing counted.', type: 'gauge', samples: [] },
      { name: 'demo_gauge', help: 'A gauge.', type: 'gauge', samples: [{ value: 1.5 }] },
    ]);
    assert.equal(
      text.split('\n').length,
      8,
      'two families of HELP, TYPE and samples; the empty one left out',
    );
    const families = parsePrometheus(text);
    assert.deepEqual(
      families.map((family) => [family.name, family.type, family.help]),
      [
        ['demo_total', 'COUNTER', 'A line\nand a back\\slash.'],
        ['demo_gauge', 'GAUGE', 'A gauge.'],
      ],
    );
    assert.equal(sampleValue(families, 'demo_total', { listen, result: 'ok' }), 3);
    assert.equal(sampleValue(families, 'demo_total', { listen, result: 'refused' }), 0);
    assert.equal(sampleValue(families, 'demo_gauge'), 1.5);
  });

  it('the proxy’s counters, one sample per listener', async () => {
    const stats = (sessionsOpen: number): ProxyStats => ({
      connections: 10,
      active: sessionsOpen + 1,
      sessions: 7,
      sessionsOpen,
      pending: 1,
      evicted: 2,
      tooManyClients: 1,
      loginsRejected: 3,
      protocolErrors: 4,
      handshakeTimeouts: 5,
      cancelsForwarded: 6,
      cancelsDropped: 8,
      tokenRenewals: 9,
    });
    const text = await proxyMetricsText([
      { listen: '127.0.0.1:5432', stats: () => stats(2) },
      { listen: '/run/pg/.s.PGSQL.5433', stats: () => stats(0) },
    ])();
    const families = parsePrometheus(text);
    const first = { listen: '127.0.0.1:5432' };
    const second = { listen: '/run/pg/.s.PGSQL.5433' };
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_sessions', first), 2);
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_sessions', second), 0);
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_client_connections', first), 3);
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_logins_total', { ...first, result: 'ok' }), 7);
    assert.equal(
      sampleValue(families, 'pg_passwordless_proxy_logins_total', { ...first, result: 'refused' }),
      3,
    );
    assert.equal(
      sampleValue(families, 'pg_passwordless_proxy_cancels_total', { ...second, result: 'dropped' }),
      8,
    );
    assert.equal(sampleValue(families, 'pg_passwordless_proxy_token_renewals_total', second), 9);
    // Every counter of ProxyStats but `pending` (inside client_connections) has a family of its own.
    assert.equal(families.length, 10);
    for (const family of families) {
      assert.equal(
        family.metrics.length,
        family.name.endsWith('logins_total') || family.name.endsWith('cancels_total') ? 4 : 2,
      );
      assert.equal(family.type, family.name.endsWith('_total') ? 'COUNTER' : 'GAUGE', family.name);
    }
  });
});
