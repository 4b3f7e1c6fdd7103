import type { Backend } from './backend.ts';
import type { CertificateNames } from './certificates.ts';
import type { AwsControls, AwsOptions } from './clouds/aws.ts';
import type { AzureControls, AzureOptions } from './clouds/azure.ts';
import type { CloudName } from './clouds/cloud.ts';
import type { DsqlOptions } from './clouds/dsql.ts';
import type { GcpControls, GcpOptions } from './clouds/gcp.ts';
import type { Faults } from './faults.ts';
import type { GatewayStats } from './gateway.ts';
import type { LoggedRequest } from './identity-server.ts';

export interface EmulatorOptions extends AzureOptions, AwsOptions, DsqlOptions, GcpOptions {
  /** The cloud to play (default azure): its identity endpoints, its login check, its client environment. */
  cloud?: CloudName;
  /**
   * `auto` (default): a private cluster of the system PostgreSQL when installed, else embedded PGlite,
   * either reachable only through a Unix socket in a private folder; or `{ url }`: a PostgreSQL you run,
   * given by a superuser URL (it must trust the gateway's logins; `?host=/socket/folder` names a socket).
   */
  backend?: 'auto' | 'postgres' | 'pglite' | { url: string };
  /**
   * Loopback address to listen on (default 127.0.0.1): any 127.x.y.z, ::1 or localhost; anything else is
   * refused (CONFIG_INVALID). The gateway's certificate names it.
   */
  host?: string;
  /**
   * What the gateway's certificate names: `default` (localhost, 127.0.0.1, ::1 and `host`), `ip-only`
   * (only the IP addresses among those, no `DNS:localhost`: what a server reached by IP address presents,
   * so that a client checking an IP target against a name fails here too), or exactly the names and
   * addresses listed (a certificate for another server).
   */
  certificateNames?: CertificateNames;
  gatewayPort?: number;
  identityPort?: number;
  /**
   * Lifetime of issued tokens; by default each cloud's own: an hour for Entra and Google access tokens
   * (Azure: up to 1 h for users, up to 24 h for managed identities). AWS hands out credentials instead.
   */
  tokenLifetimeSeconds?: number;
  /** Serve the gateway without TLS as well (require_secure_transport=OFF). TLS is still offered. */
  allowInsecure?: boolean;
  /** Enable password auth next to the cloud's tokens (the static-password baseline) for this role. */
  passwordRole?: { name: string; password: string };
  faults?: Faults;
  /**
   * Also serve a second gateway port whose sessions go through a real PgBouncer in transaction mode, as
   * Azure's built-in PgBouncer on 6432 (needs the PostgreSQL backend and the `pgbouncer` package).
   */
  pgbouncer?: boolean;
  /** Where to write ca.pem (and nothing else); a new temporary folder by default. */
  outDir?: string;
  now?: () => number;
}

export interface EmulatorCounters {
  /** HTTP requests to the identity endpoints (faults and 404s included), not to the control API. */
  identityRequests: number;
  /** Tokens (Azure, GCP) or credential sets (AWS) handed out by the identity endpoints. */
  tokensIssued: number;
  faultsInjected: number;
  gateway: GatewayStats;
}

/** A running emulator. */
export interface Emulator extends AzureControls {
  cloud: CloudName;
  /** What a client needs, as environment variables. */
  env: Record<string, string>;
  identityUrl: string;
  gateway: { host: string; port: number };
  /** The gateway port in front of PgBouncer, when started with `pgbouncer: true`. */
  pgbouncerGateway?: { host: string; port: number };
  caPath: string;
  backend: { kind: Backend['kind']; database: string; describe(): string };
  /** Present when playing AWS. */
  aws?: AwsControls;
  /** Present when playing GCP. */
  gcp?: GcpControls;
  setFaults(faults: Faults): void;
  clearFaults(): void;
  setTokenLifetime(seconds: number): void;
  /** The gateway refuses every token it has accepted so far (clients must fetch new ones); returns how many. */
  revokeAcceptedTokens(): number;
  counters(): EmulatorCounters;
  /** Recent requests to the identity endpoints (method, path, query), oldest first; no control API call. */
  identityRequests(): LoggedRequest[];
  /** Runs SQL on the backend as the superuser; returns the last statement's rows as text. */
  adminSql(sql: string): Promise<string[][]>;
  stop(): Promise<void>;
}
