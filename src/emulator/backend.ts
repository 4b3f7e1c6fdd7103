import type { GatewayBackend } from './gateway.ts';

/** A database behind the gateway: where sessions go once a token is accepted. */
export interface Backend extends GatewayBackend {
  kind: 'postgres' | 'pglite';
  /** The database clients are told to use. */
  database: string;
  /** Runs administrative SQL as the superuser. */
  adminSql(sql: string): Promise<void>;
  /** One line for people: what runs and where. */
  describe(): string;
  stop(): Promise<void>;
}
