import type { GatewayBackend } from './gateway.ts';

/** A database behind the gateway: where sessions go once a token is accepted. */
export interface Backend extends GatewayBackend {
  kind: 'postgres' | 'pglite';
  /** The database clients are told to use. */
  database: string;
  /** Runs administrative SQL as the superuser; returns the rows of the last statement as text. */
  adminSql(sql: string): Promise<string[][]>;
  /** One line for people: what runs and where. */
  describe(): string;
  stop(): Promise<void>;
}
