import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, PasswordlessError } from '../core/errors.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../core/telemetry/prometheus.ts';
import type { EventLog } from './event-log.ts';

/** What a probe says: ready, or not with one line that tells an operator why (never a token). */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

export type Probe = () => ProbeResult | Promise<ProbeResult>;

/**
 * What `/metrics` serves: the whole Prometheus text exposition (format 0.0.4), each line ended by "\n".
 * The endpoints know nothing of what is counted; the command hands them this function.
 */
export type MetricsText = () => string | Promise<string>;

export interface HttpEndpointsOptions {
  host: string;
  /** 0 for a free port (tests); `address` tells which. */
  port: number;
  probes: { startup: Probe; liveness: Probe; readiness: Probe };
  metrics: MetricsText;
  /** Where a failing metrics callback or listener is reported. */
  log?: EventLog;
}

export interface RunningHttpEndpoints {
  address: { host: string; port: number };
  /** Stops listening and closes every open connection (kept-alive probe connections included). */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
const MAX_CONNECTIONS = 100;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Serves the endpoints a platform reads of a long-running command, as the Cloud SQL Auth Proxy serves
 * them: `GET /metrics`, and the probes `GET /startup`, `/liveness`, `/readiness` (200 `ok`, or 503 and
 * one line saying why, which Kubernetes records in the pod's events). HEAD gets the same headers;
 * another method on these paths 405, any other path 404. Nothing of the request is read or echoed back.
 *
 * @example
 * const endpoints = await startHttpEndpoints({
 *   host: '127.0.0.1',
 *   port: 0,
 *   probes: {
 *     startup: () => ({ ok: true }),
 *     liveness: () => ({ ok: true }),
 *     readiness: () => ({ ok: false, reason: 'no token: the identity endpoint answered 503' }),
 *   },
 *   metrics: () => '# TYPE demo_up gauge\ndemo_up 1\n',
 * });
 * const base = `http://127.0.0.1:${endpoints.address.port}`;
 * const readiness = await fetch(`${base}/readiness`);
 * console.log(readiness.status, await readiness.text()); // 503 no token: the identity endpoint answered 503
 * console.log((await fetch(`${base}/metrics`)).headers.get('content-type')); // text/plain; version=0.0.4; charset=utf-8
 * await endpoints.close();
 */
export async function startHttpEndpoints(options: HttpEndpointsOptions): Promise<RunningHttpEndpoints> {
  const server = createServer((request, response) => {
    void answer(options, request, response);
  });
  // Probes and scrapes are a few small requests: a client that holds connections open or sends its
  // headers slowly must not take file descriptors from the service these endpoints describe.
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await listen(server, options.host, options.port);
  server.on('error', (error) =>
    options.log?.({
      level: 'error',
      event: 'http_failed',
      message: `the health and metrics endpoints failed: ${error.message}`,
    }),
  );
  return {
    address: { host: options.host, port: (server.address() as AddressInfo).port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const PATHS = new Set(['/metrics', '/startup', '/liveness', '/readiness']);

async function answer(
  options: HttpEndpointsOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // The query is ignored: a scraper may add one (Prometheus's `params`), a probe never needs one.
  const path = (request.url ?? '').split('?', 1)[0] as string;
  if (!PATHS.has(path))
    return send(response, 404, TEXT, 'not found: try /metrics, /startup, /liveness or /readiness');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return send(response, 405, TEXT, 'only GET and HEAD');
  }
  if (path === '/metrics') return sendMetrics(options, response);
  const probe = options.probes[path.slice(1) as keyof HttpEndpointsOptions['probes']];
  let result: ProbeResult;
  try {
    result = await probe();
  } catch (error) {
    result = { ok: false, reason: `the check failed: ${describeError(error)}` };
  }
  if (result.ok) return send(response, 200, TEXT, 'ok');
  send(response, 503, TEXT, oneLine(result.reason));
}

async function sendMetrics(options: HttpEndpointsOptions, response: ServerResponse): Promise<void> {
  let text: string;
  try {
    text = await options.metrics();
  } catch (error) {
    options.log?.({
      level: 'error',
      event: 'metrics_failed',
      message: `/metrics failed: ${describeError(error)}`,
    });
    return send(response, 500, TEXT, 'the metrics could not be read; the log says why');
  }
  send(response, 200, PROMETHEUS_CONTENT_TYPE, text, { newline: false });
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  { newline = true }: { newline?: boolean } = {},
): void {
  const bytes = Buffer.from(newline ? `${body}\n` : body, 'utf8');
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': bytes.length,
    // A probe's answer is about this instant: no proxy in between may keep it.
    'Cache-Control': 'no-store',
  });
  // Node sends no body in answer to HEAD, whatever is written.
  response.end(bytes);
}

/** A reason as one line: what a platform records from the body is its first line. */
function oneLine(reason: string): string {
  return reason.replace(/[\r\n]+/g, ' ').slice(0, 1_000);
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(
        new PasswordlessError(
          'CONFIG_INVALID',
          `Cannot serve the health and metrics endpoints on ${host.includes(':') ? `[${host}]` : host}:${port}: ${error.message}.`,
          {
            hint:
              error.code === 'EADDRINUSE'
                ? 'Another server uses that port: pick another with --http-address 127.0.0.1:9802.'
                : 'Check the address and that this user may listen there.',
            cause: error,
          },
        ),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
