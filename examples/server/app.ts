import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type pg from 'pg';
import {
  type FlowRunStore,
  flowRunStore,
  parseCreate,
  parsePaging,
  parseState,
  ValidationError,
} from './flow-runs.ts';

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AppOptions {
  pool: pg.Pool;
  /** When the database token expires, for the health endpoint (never the token). */
  tokenExpiresAtMs: () => number | undefined;
}

/**
 * The flow-run API: JSON in and out.
 *   GET  /health                    the database login identity and the token's expiry
 *   POST /flow-runs                 {"name": "...", "parameters": {...}}
 *   GET  /flow-runs?limit=&offset=  newest first, with the total
 *   GET  /flow-runs/:id
 *   PATCH /flow-runs/:id/state      {"state": "RUNNING"}
 */
export function createApp(options: AppOptions): Server {
  const store = flowRunStore(options.pool);
  return createServer((request, response) => {
    route(request, response, store, options).catch((error: unknown) => {
      if (error instanceof ValidationError)
        return send(response, 400, { error: 'invalid input', details: error.details });
      if (error instanceof HttpError) return send(response, error.status, { error: error.message });
      console.error(`[server] ${request.method} ${request.url} failed: ${(error as Error).message}`);
      send(response, 500, { error: 'internal error' });
    });
  });
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  store: FlowRunStore,
  options: AppOptions,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean);
  const method = request.method ?? 'GET';

  if (method === 'GET' && url.pathname === '/health') {
    const { rows } = await options.pool.query<{ role: string }>('select current_user as role');
    const expiresAtMs = options.tokenExpiresAtMs();
    return send(response, 200, {
      status: 'ok',
      database: {
        loginRole: rows[0]?.role,
        tokenExpiresAt: expiresAtMs ? new Date(expiresAtMs).toISOString() : null,
      },
      pool: {
        total: options.pool.totalCount,
        idle: options.pool.idleCount,
        waiting: options.pool.waitingCount,
      },
    });
  }
  if (parts[0] !== 'flow-runs') throw new HttpError(404, 'not found');
  if (parts.length === 1) {
    if (method === 'POST')
      return send(response, 201, await store.create(parseCreate(await readJson(request))));
    if (method === 'GET') {
      const paging = parsePaging(url.searchParams);
      return send(response, 200, { ...(await store.list(paging)), ...paging });
    }
    throw new HttpError(405, 'method not allowed');
  }
  const id = Number(parts[1]);
  if (!Number.isSafeInteger(id) || id < 1) throw new ValidationError({ id: 'a positive integer' });
  if (parts.length === 2 && method === 'GET') {
    const run = await store.get(id);
    if (!run) throw new HttpError(404, `flow run ${id} not found`);
    return send(response, 200, run);
  }
  if (parts.length === 3 && parts[2] === 'state' && method === 'PATCH') {
    const run = await store.setState(id, parseState(await readJson(request)));
    if (!run) throw new HttpError(404, `flow run ${id} not found`);
    return send(response, 200, run);
  }
  throw new HttpError(404, 'not found');
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpError(415, 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}
