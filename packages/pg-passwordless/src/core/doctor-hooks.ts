import type { ConnectionTarget, Env } from './connection-url.ts';

/** Which source of a cloud's default credential chain applies here, and why the others do not. */
export interface CredentialFinding {
  /** False when no source can apply at all (AWS with nothing configured, a missing key file). */
  ok: boolean;
  /** The source that will answer, with the variables that select it (values of secrets never shown). */
  chosen: string;
  /** The sources before it, each with the reason it is skipped. */
  skipped: string[];
  hint?: string;
}

/** Where the doctor looks for credential files; injected by tests. */
export interface CredentialContext<Options> {
  env: Env;
  /** The cloud's options, resolved (a credential given in code is there). */
  options: Options;
  fileExists?: (path: string) => boolean;
  readFile?: (path: string) => string;
  home?: string;
}

/**
 * What the doctor can tell about a token without showing it: its kind, who it names and when it is
 * valid, plus what its cloud reads from it (an audience, a signing host). Nothing here is secret, and
 * nothing is trusted: the server verifies the token.
 */
export interface TokenFacts {
  kind: string;
  /** Epoch milliseconds. */
  issuedAtMs?: number;
  notBeforeMs?: number;
  expiresAtMs?: number;
  /** The role name the token's claims suggest, where its cloud reads one. */
  suggestedRole?: string;
  /** `TOKEN_EXPIRED` or `CLOCK_SKEW` when the token's times do not fit this machine's clock. */
  problem?: 'TOKEN_EXPIRED' | 'CLOCK_SKEW';
  /** One line for people, with no part of the token in it. */
  summary: string;
  /** What the cloud reads besides (audience, tenantId, dbUser, region...). */
  [fact: string]: unknown;
}

/** What the doctor knows when a login is refused: who logged in where, and what the token said. */
export interface LoginContext {
  user: string;
  host: string;
  port: number;
  database?: string;
  token?: TokenFacts;
  /** Facts the cloud gave for this target (a service account, a region). */
  facts: Readonly<Record<string, string>>;
  now: () => number;
}

/** A refused login, named: a stable code, what happened, and what to do. */
export interface LoginDiagnosis {
  code: string;
  detail: string;
  hint: string;
}

/** A finding about a fetched token: a failure code and hint, and notes for the report. */
export interface TokenCheck {
  code?: string;
  hint?: string;
  notes: string[];
}

/**
 * What `pg-passwordless doctor` asks of a cloud. Everything is optional but `describeCredential`: a cloud
 * without the others gets the doctor's generic readings.
 */
export interface CloudDoctor<Options> {
  /** Which source of the cloud's credential chain will answer here, from the environment alone. */
  describeCredential(context: CredentialContext<Options>): CredentialFinding;
  /** Reads a token of this cloud's own form (an RDS presigned URL); undefined leaves it to the generic reading. */
  readToken?(token: string): TokenFacts | undefined;
  /** Cloud checks of a fetched token (the audience a server expects). */
  checkToken?(facts: TokenFacts, context: { target: ConnectionTarget; options: Options }): TokenCheck;
  /**
   * Names a refused login from the server's words (the cloud's own texts); undefined leaves it to the
   * doctor's generic reading (SQLSTATE, expiry, clock).
   */
  explainRefusal?(
    refusal: {
      sqlState?: string;
      message: string;
      said: string;
      /** The HINT field of the server's ErrorResponse, where some servers say why (Aurora DSQL). */
      serverHint?: string;
    },
    context: LoginContext,
  ): LoginDiagnosis | undefined;
  /** How to create the role for this identity, when the server says it does not exist. */
  roleMissingHint?(context: LoginContext): string;
  /** Where to get the server's CA when its certificate is not trusted. */
  caHint?: string;
}
