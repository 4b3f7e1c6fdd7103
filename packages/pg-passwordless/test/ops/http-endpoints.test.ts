// The health and metrics endpoints over real HTTP (fetch, node:http): what a kubelet and a Prometheus
// scraper see, whatever the probes behind them say.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/core/telemetry/prometheus.ts';
import type { OpsEvent } from '../../src/ops/event-log.ts';
import { parseHttpAddress } from '../../src/ops/http-address.ts';
import {
  type ProbeResult,
  type RunningHttpEndpoints,
  startHttpEndpoints,
} from '../../src/ops/http-endpoints.ts';

describe('the health and metrics endpoints', () => {
  let endpoints: RunningHttpEndpoints;
  let readiness: ProbeResult | Error = { ok: true };
  let metrics: string | Error = '# HELP demo_up Up.\n# TYPE demo_up gauge\ndemo_up 1\n';
  const events: OpsEvent[] = [];
  const url = (path: string) => `http://127.0.0.1:${endpoints.address.port}${path}`;

  before(async () => {
    endpoints = await startHttpEndpoints({
      host: '127.0.0.1',
      port: 0,
      probes: {
        startup: () => ({ ok: true }),
        liveness: async () => ({ ok: true }),
        readiness: () => {
          if (readiness instanceof Error) throw readiness;
          return readiness;
        },
      },
      metrics: async () => {
        if (metrics instanceof Error) throw metrics;
        return metrics;
      },
      log: (event) => events.push(event),
    });
  });
  after(() => endpoints?.close());

  it('answers each probe 200 "ok", and 503 with its reason on one line', async () => {
    for (const path of ['/startup', '/liveness', '/readiness', '/readiness?verbose=1']) {
      const response = await fetch(url(path));
      assert.deepEqual([response.status, await response.text()], [200, 'ok\n'], path);
      assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'no-store');
    }
    readiness = { ok: false, reason: 'orders: no token: TOKEN_ENDPOINT_FAILED\nsecond line' };
    const refused = await fetch(url('/readiness'));
    assert.deepEqual(
      [refused.status, await refused.text()],
      [503, 'orders: no token: TOKEN_ENDPOINT_FAILED second line\n'],
    );
    readiness = new Error('the probe broke');
    const broken = await fetch(url('/readiness'));
    assert.deepEqual([broken.status, await broken.text()], [503, 'the check failed: the probe broke\n']);
    readiness = { ok: true };
  });

  it('serves /metrics as Prometheus text 0.0.4; a failing source is a 500 and a log event', async () => {
    const response = await fetch(url('/metrics'));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    assert.equal(await response.text(), metrics);
    metrics = new Error('registry unreadable');
    const failed = await fetch(url('/metrics'));
    assert.equal(failed.status, 500);
    assert.equal(await failed.text(), 'the metrics could not be read; the log says why\n');
    assert.deepEqual(events.at(-1), {
      level: 'error',
      event: 'metrics_failed',
      message: '/metrics failed: registry unreadable',
    });
  });

  it('HEAD gets the headers alone; another method 405 with Allow; another path 404', async () => {
    const head = await fetch(url('/liveness'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '3');
    assert.equal(await head.text(), '');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await fetch(url('/readiness'), { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
    }
    for (const path of ['/', '/healthz', '/metrics/', '/READINESS', '/../metrics%00']) {
      const response = await fetch(url(path));
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(await response.text(), /healthz|READINESS|%00/, 'nothing of the request is echoed');
    }
  });

  it('a port in use is refused with CONFIG_INVALID and a hint', async () => {
    await assert.rejects(
      startHttpEndpoints({
        host: '127.0.0.1',
        port: endpoints.address.port,
        probes: {
          startup: () => ({ ok: true }),
          liveness: () => ({ ok: true }),
          readiness: () => ({ ok: true }),
        },
        metrics: () => '',
      }),
      (error: { code?: string; hint?: string; message: string }) => {
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.match(
          error.message,
          /Cannot serve the health and metrics endpoints on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
        );
        assert.match(error.hint ?? '', /--http-address/);
        return true;
      },
    );
  });

  it('--http-address: HOST:PORT, [IPv6]:PORT, or PORT on loopback; no Unix socket', () => {
    assert.deepEqual(parseHttpAddress('9801'), { host: '127.0.0.1', port: 9801 });
    assert.deepEqual(parseHttpAddress('0.0.0.0:9801'), { host: '0.0.0.0', port: 9801 });
    assert.deepEqual(parseHttpAddress('[::1]:9801'), { host: '::1', port: 9801 });
    for (const bad of ['/run/pg', 'nowhere', 'host:99999', '']) {
      assert.throws(
        () => parseHttpAddress(bad),
        (error: { code?: string; message: string }) => {
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, /^--http-address .* is not HOST:PORT or PORT\.\n/);
          return true;
        },
      );
    }
  });
});
