// Each listener's own counters as metric families, rendered by the core's renderer and read back by a
// parser of the format that is not ours.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPrometheus } from '../../src/core/telemetry/prometheus.ts';
import { listenerMetricFamilies } from '../../src/ops/proxy-metrics.ts';
import type { ProxyStats } from '../../src/proxy/proxy.ts';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';

describe('the listeners’ counters in /metrics', () => {
  it('one series per listener, named as the core names its instruments, label values escaped', async () => {
    const stats = (active: number): ProxyStats => ({
      connections: 10,
      active,
      sessions: 7,
      sessionsOpen: active - 1,
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
    const first = { listen: '127.0.0.1:5432' };
    const second = { listen: '/run/pg "a"\\b/.s.PGSQL.5433' };
    const text = renderPrometheus({
      families: listenerMetricFamilies([
        { ...first, stats: () => stats(3) },
        { ...second, stats: () => stats(1) },
      ]),
    });
    const metrics = await parsePrometheus(text);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_client_connections', first), 3);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_client_connections', second), 1);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_connections_total', second), 10);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_too_many_clients_total', first), 1);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_protocol_errors_total', first), 4);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_handshake_timeouts_total', first), 5);
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_evicted_total', first), 2);
    assert.equal(
      sampleValue(metrics, 'pg_passwordless_proxy_cancels_total', { ...second, result: 'forwarded' }),
      6,
    );
    assert.equal(
      sampleValue(metrics, 'pg_passwordless_proxy_cancels_total', { ...second, result: 'dropped' }),
      8,
    );
    assert.equal(sampleValue(metrics, 'pg_passwordless_proxy_token_renewals_total', second), 9);
    // Sessions and logins are the core's instruments (per listener too): not counted twice here.
    assert.equal(metrics.pg_passwordless_proxy_sessions, undefined);
    assert.equal(metrics.pg_passwordless_proxy_logins_total, undefined);
    for (const [name, metric] of Object.entries(metrics)) {
      assert.equal(metric.type, name.endsWith('_total') ? 'counter' : 'gauge', name);
      assert.equal(metric.data.length, name.endsWith('cancels_total') ? 4 : 2, name);
    }
  });
});
