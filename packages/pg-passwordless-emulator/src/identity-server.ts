import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { FaultInjector } from './faults.ts';

/** What a route answers. */
export interface RouteAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A route: path match plus handler. Token routes are subject to fault injection; key routes are not. */
export interface Route {
  method: 'GET' | 'POST';
  matches(path: string): boolean;
  handle(request: IncomingMessage, url: URL): Promise<RouteAnswer> | RouteAnswer;
  /** Whether faults apply (token endpoints) or not (JWKS, probes). */
  faulty: boolean;
  /** Headers every answer of this route carries (GCP's Metadata-Flavor), faults included. */
  alwaysHeaders?: Record<string, string>;
  /**
   * Served over HTTPS only (the secure listener), and only there: OAuth token endpoints exist only over
   * HTTPS, while the metadata and managed-identity endpoints are plain http.
   */
  secure?: boolean;
  /**
   * A route of the emulator's own control API: what a test or a benchmark asks, not what an SDK
   * sends, so its requests (any method) are neither counted nor logged as identity requests.
   */
  control?: boolean;
}

/** One request as the identity server saw it (secret headers are not kept). */
export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** When the request arrived (epoch milliseconds): reliability tests check waits between requests. */
  atMs: number;
}

/**
 * The certificate of the identity server's HTTPS listener, which serves the `secure` routes (same faults
 * and counters). `tunnelHosts` are hosts an SDK cannot be pointed away from: the plain HTTP port then
 * also answers `CONNECT host:443` for them (an HTTPS proxy, as `HTTPS_PROXY` names one) and hands the
 * tunnel to the HTTPS listener, so the certificate must name those hosts too.
 */
export interface IdentityTls {
  cert: string;
  key: string;
  tunnelHosts?: readonly string[];
}

export interface IdentityServer {
  url: string;
  port: number;
  /** The HTTPS listener's origin, when the server was given a certificate (`tls`). */
  secureUrl?: string;
  /** How many identity requests arrived: any path but a control route's, faults and 404s included. */
  requests(): number;
  /** The most recent identity requests (control routes left out), oldest first (at most 1,000). */
  requestLog(): LoggedRequest[];
  close(): Promise<void>;
}

/**
 * One HTTP server for the identity endpoints of every emulated cloud, on loopback, plus an HTTPS
 * listener for the `secure` routes when given a certificate (OAuth token endpoints). Each cloud adds its
 * routes; faults and request counters are shared by both listeners. Requests to `control` routes are
 * served but not counted, so that reading the counters over HTTP does not change them.
 *
 * @example
 * const routes: Route[] = [
 *   {
 *     method: 'GET',
 *     faulty: false,
 *     matches: (path) => path === '/hello',
 *     handle: () => ({ status: 200, body: { hello: 'world' } }),
 *   },
 *   {
 *     method: 'GET',
 *     faulty: false,
 *     control: true,
 *     matches: (path) => path === '/emulator/ping',
 *     handle: () => ({ status: 200, body: 'pong' }),
 *   },
 * ];
 * // The emulator passes its fault injector; this one never injects a fault.
 * const noFaults = {
 *   set() {},
 *   clear() {},
 *   get: () => ({}),
 *   injected: () => 0,
 *   decide: () => ({ action: 'answer' as const, latencyMs: 0 }),
 * };
 * const server = await startIdentityServer(routes, noFaults, { host: '127.0.0.1', port: 0 });
 * const response = await fetch(`${server.url}/hello`);
 * console.log(response.status, await response.json(), server.requests()); // 200 { hello: 'world' } 1
 * console.log((await fetch(`${server.url}/nowhere`)).status, server.requests()); // 404 2
 * console.log(await (await fetch(`${server.url}/emulator/ping`)).text(), server.requests()); // pong 2
 * await server.close();
 */
export async function startIdentityServer(
  routes: Route[],
  faults: FaultInjector,
  options: { host: string; port: number; tls?: IdentityTls },
): Promise<IdentityServer> {
  const recorder = requestRecorder();
  // Any method: a control path asked with the wrong one is still no SDK's request.
  const isControl = (path: string) => routes.some((route) => route.control && route.matches(path));
  const handler = (secure: boolean) => (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://emulator');
    if (!isControl(url.pathname)) recorder.record(request, url);
    const served = routes.filter((route) => Boolean(route.secure) === secure);
    void serve(served, faults, request, response);
  };
  const server: Server = createServer(handler(false));
  const { tls } = options;
  const secure = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler(true))
    : undefined;
  if (secure && tls?.tunnelHosts?.length) server.on('connect', tunnelInto(secure, tls.tunnelHosts));
  const port = await listen(server, options.port, options.host);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const secureUrl = secure ? `https://${host}:${await listen(secure, 0, options.host)}` : undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    ...(secureUrl ? { secureUrl } : {}),
    requests: recorder.count,
    requestLog: recorder.log,
    close: async () => {
      await Promise.all([server, secure].map((one) => (one ? closeServer(one) : undefined)));
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Answers `CONNECT host:443` for the hosts it may stand in for by handing the client's socket to the
 * HTTPS server, which does the TLS handshake (with a certificate naming those hosts, signed by the
 * emulator's CA) and serves the requests; any other target is refused, so the emulator is no proxy to
 * anywhere else.
 */
function tunnelInto(secure: Server, tunnelHosts: readonly string[]) {
  return (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    const target = request.url ?? '';
    const [host, port] = [
      target.slice(0, target.lastIndexOf(':')),
      target.slice(target.lastIndexOf(':') + 1),
    ];
    if (port !== '443' || !tunnelHosts.includes(host)) {
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n` +
          `pg-passwordless-emulator tunnels only to ${tunnelHosts.map((name) => `${name}:443`).join(', ')}, not ${target}.\n`,
      );
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    secure.emit('connection', socket);
  };
}

/** The identity requests' counter and log (the newest 1,000 kept). */
function requestRecorder() {
  let count = 0;
  const log: LoggedRequest[] = [];
  return {
    record(request: IncomingMessage, url: URL): void {
      count++;
      log.push({
        method: request.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        atMs: Date.now(),
      });
      if (log.length > 1_000) log.shift();
    },
    count: () => count,
    log: () => [...log],
  };
}

/** Answers one request: its route's answer, an injected fault, or 404. */
async function serve(
  routes: Route[],
  faults: FaultInjector,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://emulator');
  const route = routes.find(
    (candidate) => candidate.method === request.method && candidate.matches(url.pathname),
  );
  if (!route)
    return send(response, {
      status: 404,
      body: { error: 'not_found', error_description: `No route for ${request.method} ${url.pathname}` },
    });
  const decision = route.faulty ? faults.decide() : { action: 'answer' as const, latencyMs: 0 };
  if (decision.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.latencyMs));
  if (decision.action === 'drop') {
    request.socket.destroy();
    return;
  }
  if (decision.action === 'status') {
    const headers: Record<string, string> = { ...route.alwaysHeaders };
    if (decision.retryAfterSeconds !== undefined) headers['Retry-After'] = String(decision.retryAfterSeconds);
    return send(response, {
      status: decision.status,
      headers,
      body: { error: 'injected_fault', error_description: `Injected fault: HTTP ${decision.status}` },
    });
  }
  try {
    const answer = await route.handle(request, url);
    send(response, { ...answer, headers: { ...route.alwaysHeaders, ...answer.headers } });
  } catch (error) {
    send(response, {
      status: 500,
      headers: route.alwaysHeaders,
      body: { error: 'server_error', error_description: String(error) },
    });
  }
}

function send(response: ServerResponse, answer: RouteAnswer): void {
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const contentType = typeof answer.body === 'string' ? 'text/plain' : 'application/json';
  response.writeHead(answer.status, { 'Content-Type': contentType, ...answer.headers });
  response.end(text);
}

/**
 * A request's body as text, at most 64 KiB (identity requests are small; a larger one is refused).
 *
 * @example
 * const { Readable } = await import('node:stream');
 * const request = Readable.from([Buffer.from('grant_type=x')]) as unknown as import('node:http').IncomingMessage;
 * console.log(await readRequestBody(request)); // grant_type=x
 */
export async function readRequestBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
