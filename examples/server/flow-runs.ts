import type pg from 'pg';

export const STATES = ['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type State = (typeof STATES)[number];

export interface FlowRun {
  id: number;
  name: string;
  parameters: Record<string, unknown>;
  state: State;
  createdAt: string;
  updatedAt: string;
}

/** Input that failed validation, with one message per field. */
export class ValidationError extends Error {
  readonly details: Record<string, string>;
  constructor(details: Record<string, string>) {
    super('invalid input');
    this.details = details;
  }
}

type Row = {
  id: string;
  name: string;
  parameters: Record<string, unknown>;
  state: State;
  created_at: Date;
  updated_at: Date;
};

const toFlowRun = (row: Row): FlowRun => ({
  id: Number(row.id),
  name: row.name,
  parameters: row.parameters,
  state: row.state,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** Checks a create request: a name of 1 to 200 characters, optional object parameters. */
export function parseCreate(body: unknown): { name: string; parameters: Record<string, unknown> } {
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const details: Record<string, string> = {};
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
    details.name = 'required: a string of 1 to 200 characters';
  }
  const parameters = input.parameters ?? {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))
    details.parameters = 'must be an object';
  if (Object.keys(details).length > 0) throw new ValidationError(details);
  return { name: (input.name as string).trim(), parameters: parameters as Record<string, unknown> };
}

/** Checks a state change request. */
export function parseState(body: unknown): State {
  const state = (body as { state?: unknown } | null)?.state;
  if (typeof state !== 'string' || !STATES.includes(state as State)) {
    throw new ValidationError({ state: `one of ${STATES.join(', ')}` });
  }
  return state as State;
}

/** Checks paging: limit 1 to 100 (default 20), offset 0 or more. */
export function parsePaging(query: URLSearchParams): { limit: number; offset: number } {
  const limit = Number(query.get('limit') ?? 20);
  const offset = Number(query.get('offset') ?? 0);
  const details: Record<string, string> = {};
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) details.limit = 'an integer from 1 to 100';
  if (!Number.isInteger(offset) || offset < 0) details.offset = 'an integer of 0 or more';
  if (Object.keys(details).length > 0) throw new ValidationError(details);
  return { limit, offset };
}

/** The flow-run store, on any pg pool. */
export function flowRunStore(pool: pg.Pool) {
  return {
    async create(input: { name: string; parameters: Record<string, unknown> }): Promise<FlowRun> {
      const { rows } = await pool.query<Row>(
        'insert into flow_runs (name, parameters) values ($1, $2) returning *',
        [input.name, input.parameters],
      );
      return toFlowRun(rows[0] as Row);
    },
    async list(paging: { limit: number; offset: number }): Promise<{ items: FlowRun[]; total: number }> {
      const [{ rows }, count] = await Promise.all([
        pool.query<Row>('select * from flow_runs order by created_at desc, id desc limit $1 offset $2', [
          paging.limit,
          paging.offset,
        ]),
        pool.query<{ total: string }>('select count(*) as total from flow_runs'),
      ]);
      return { items: rows.map(toFlowRun), total: Number(count.rows[0]?.total ?? 0) };
    },
    async get(id: number): Promise<FlowRun | undefined> {
      const { rows } = await pool.query<Row>('select * from flow_runs where id = $1', [id]);
      return rows[0] ? toFlowRun(rows[0]) : undefined;
    },
    async setState(id: number, state: State): Promise<FlowRun | undefined> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const { rows } = await client.query<Row>(
          'update flow_runs set state = $2, updated_at = now() where id = $1 returning *',
          [id, state],
        );
        if (rows[0])
          await client.query('insert into flow_run_states (flow_run_id, state) values ($1, $2)', [id, state]);
        await client.query('commit');
        return rows[0] ? toFlowRun(rows[0]) : undefined;
      } catch (error) {
        await client.query('rollback');
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

export type FlowRunStore = ReturnType<typeof flowRunStore>;
