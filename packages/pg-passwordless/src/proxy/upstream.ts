import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, createSecureContext, type SecureContext } from 'node:tls';
import { describeError, PasswordlessError } from '../core/errors.ts';
import {
  createRefusedLoginPolicy,
  isRefusedLogin,
  type RefusalVerdict,
  type RefusedLoginPolicy,
} from '../core/refused-login.ts';
import { serverIdentityOptions } from '../core/server-identity.ts';
import {
  type ConnectionScope,
  connectToServer,
  fatalError,
  LoginRefusal,
  loginToServer,
  PacketReader,
  type ServerLogin,
  startTls,
} from '../wire/index.ts';
import { refusalSummary } from './refusal-log.ts';

/** The server the proxy logs in to, as whom, and how it verifies TLS (`false`: no TLS, loopback tests only). */
export interface Upstream {
  host: string;
  port: number;
  user: string;
  /** The database when the client names none. */
  database: string | undefined;
  tls: ConnectionOptions | false;
  /** The current token (the library's cache: one identity request however many clients connect). */
  getToken(): Promise<string>;
  /** Drops a refused token and fetches past the SDK's cache; absent for a plugin with no cache handle. */
  invalidate?(): Promise<{ renewed: boolean }>;
}

/** A logged-in upstream session, ready to be piped to its client. */
export interface UpstreamSession {
  socket: Duplex;
  reader: PacketReader;
  greeting: Buffer;
  /** BackendKeyData's body: the key a CancelRequest for this session carries. */
  backendKey: Buffer | undefined;
  /** The address this session reached (an IP when the host name has several), for its cancel requests. */
  remote: { host: string; port: number };
}

/**
 * How the last login to the server ended, for readiness. `lasting`: trying again cannot mend it (the
 * server refused a renewed token too, wants another authentication method, or has a certificate that
 * is not trusted); a server out of reach or a token that could not be fetched may pass at the next try.
 */
export type UpstreamLoginOutcome = { ok: true } | { ok: false; lasting: boolean; reason: string };

/** Longest wait for the server to take a cancel request. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * Opens upstream sessions: TCP, verified TLS (resuming the last TLS session, so a login per
 * transaction skips most of the handshake), then a login with the current token. A refusal is
 * retried once with a renewed token when the token may be the cause; what the client gets otherwise
 * is the server's own ErrorResponse, or a FATAL one saying what failed and what to do.
 */
export class UpstreamConnector {
  readonly #upstream: Upstream;
  #tlsSession: Buffer | undefined;
  /** Built once: loading the CA certificates for every login costs a third of a millisecond each. */
  #secureContext: SecureContext | undefined;
  /** What a refused login does: the core's policy, as for the pool and the doctor. */
  readonly #refusals: RefusedLoginPolicy | undefined;
  #lastLogin: UpstreamLoginOutcome | undefined;

  constructor(upstream: Upstream) {
    this.#upstream = upstream;
    const { invalidate } = upstream;
    this.#refusals = invalidate
      ? createRefusedLoginPolicy({ getToken: () => upstream.getToken(), invalidate: () => invalidate() })
      : undefined;
    if (upstream.tls !== false) this.#secureContext = createSecureContext(upstream.tls);
  }

  /** Opens a logged-in session for a client; its outcome becomes {@link lastLogin}. */
  async open(clientParameters: Record<string, string>, scope: ConnectionScope): Promise<UpstreamSession> {
    try {
      const session = await this.#login(clientParameters, scope);
      this.#lastLogin = { ok: true };
      return session;
    } catch (error) {
      // A client that left during the login says nothing about the server.
      if (!scope.closed) this.#lastLogin = outcomeOf(error);
      throw error;
    }
  }

  /** How the last login that ran its course ended; undefined before the first. */
  get lastLogin(): UpstreamLoginOutcome | undefined {
    return this.#lastLogin;
  }

  async #login(clientParameters: Record<string, string>, scope: ConnectionScope): Promise<UpstreamSession> {
    const { user, database } = this.#upstream;
    // Whatever the client set at startup (application_name, options, DateStyle, replication, ...) is
    // passed on; the role is the proxy's, and so is the database when the client names none.
    const parameters = {
      ...clientParameters,
      user,
      database: clientParameters.database || database || user,
    };
    for (let attempt = 0; ; attempt++) {
      const token = await this.#token();
      const session = await this.#connect(scope);
      const login = await loginToServer(session.socket, session.reader, parameters, () => token).catch(
        (error: unknown) => {
          session.socket.destroy();
          throw upstreamFailure(`the server broke off the login: ${describeError(error)}`);
        },
      );
      if (login.ok) return { ...session, greeting: login.greeting, backendKey: login.backendKey };
      session.socket.destroy();
      if (login.kind === 'authentication') {
        const reason = `the server asked for authentication method ${login.method}, not for a password (cleartext), which token logins use`;
        throw upstreamFailure(
          reason,
          'Check that the server takes token logins for this role: `pg-passwordless doctor` with the same URL names the setting your cloud needs.',
          reason,
        );
      }
      if (!isRefusedLogin({ code: login.fields.C })) throw new LoginRefusal(login.error, 'loginsRejected');
      // The core's refused-login policy says whether a renewed token is worth a second login.
      const verdict = attempt === 0 ? await this.#refusals?.afterRefusal(token) : undefined;
      if (verdict?.retry) continue;
      throw refusedLogin(login, attempt, verdict);
    }
  }

  /**
   * Sends a CancelRequest to the address the session reached, over TLS as the session was, and waits
   * until the server closes that connection (it does once the request is processed), at most 10 s.
   */
  async cancel(remote: { host: string; port: number }, request: Buffer): Promise<void> {
    const socket = await connectToServer(remote);
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), CANCEL_TIMEOUT_MS);
    try {
      const channel = this.#upstream.tls === false ? socket : await startTls(socket, this.#tlsOptions());
      const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
      channel.on('error', () => channel.destroy());
      channel.resume();
      channel.end(request);
      await closed;
    } finally {
      clearTimeout(timer);
      socket.destroy();
    }
  }

  async #token(): Promise<string> {
    try {
      return await this.#upstream.getToken();
    } catch (error) {
      // The hint goes in its own field of the ErrorResponse, where psql and pgAdmin show it as one.
      const hint = error instanceof PasswordlessError ? error.hint : undefined;
      const text = describeError(error).split('\nHint: ')[0];
      throw upstreamFailure(`no token for the login: ${text}`, hint);
    }
  }

  /** Logins retried with a renewed token. */
  get renewals(): number {
    return this.#refusals?.renewals() ?? 0;
  }

  async #connect(scope: ConnectionScope): Promise<Omit<UpstreamSession, 'greeting' | 'backendKey'>> {
    const { host, port } = this.#upstream;
    let socket: Socket;
    try {
      socket = await connectToServer({ host, port }, scope);
    } catch (error) {
      throw upstreamFailure(
        `cannot reach the server ${host}:${port}: ${describeError(error)}`,
        'Run `pg-passwordless doctor` with the same URL: it checks DNS, TCP, TLS and the login step by step.',
      );
    }
    const remote = { host: socket.remoteAddress ?? host, port: socket.remotePort ?? port };
    if (this.#upstream.tls === false) return { socket, reader: new PacketReader(socket), remote };
    try {
      const secure = await startTls(socket, this.#tlsOptions(), scope);
      secure.once('session', (session: Buffer) => {
        this.#tlsSession = session;
      });
      return { socket: secure, reader: new PacketReader(secure), remote };
    } catch (error) {
      socket.destroy();
      const message = `TLS to ${host}:${port} failed: ${describeError(error)}`;
      throw upstreamFailure(
        message,
        'The proxy verifies the server as libpq’s verify-full does; set sslrootcert in the URL (or PGSSLROOTCERT) to the CA that signed it.',
        isNetworkError(error) ? undefined : message,
      );
    }
  }

  #tlsOptions(): ConnectionOptions {
    // The server's name as SNI, or the check bound to its IP; a check the options set (verify-ca's) wins.
    return {
      ...serverIdentityOptions(this.#upstream.host),
      ...(this.#upstream.tls as ConnectionOptions),
      secureContext: this.#secureContext,
      ...(this.#tlsSession ? { session: this.#tlsSession } : {}),
    };
  }
}

/** A login refused for a reason a retry cannot mend; `reason` says it in one line, for readiness. */
class LastingRefusal extends LoginRefusal {
  constructor(
    response: Buffer,
    readonly reason: string,
  ) {
    super(response, 'loginsRejected');
  }
}

/**
 * What the client sees when the proxy could not log in for it: SQLSTATE 08001 (could not connect).
 * `lasting`, when trying again cannot mend it: the reason readiness reports.
 */
function upstreamFailure(message: string, hint?: string, lasting?: string): LoginRefusal {
  const response = fatalError('08001', `pg-passwordless proxy: ${message}`, hint);
  return lasting === undefined
    ? new LoginRefusal(response, 'loginsRejected')
    : new LastingRefusal(response, lasting);
}

/**
 * The server's refusal of a token login, passed to the client as it is. Lasting when a new token did not
 * or cannot help: the second login (with a renewed token) was refused too, the identity SDK hands back
 * the refused token, or a token renewed moments ago was refused (a role not mapped, a grant missing).
 */
function refusedLogin(
  login: Extract<ServerLogin, { kind: 'refused' }>,
  attempt: number,
  verdict: RefusalVerdict | undefined,
): LoginRefusal {
  const refused = refusalSummary(login.error);
  if (attempt > 0)
    return new LastingRefusal(login.error, `the server refused a renewed token too: ${refused}`);
  if (verdict?.reason === 'same-token')
    return new LastingRefusal(
      login.error,
      `the server refused the token, and the identity SDK hands back the same one: ${refused}`,
    );
  if (verdict?.reason === 'too-soon')
    return new LastingRefusal(login.error, `the server refused a token renewed moments before: ${refused}`);
  return new LoginRefusal(login.error, 'loginsRejected');
}

/** A failed login as readiness reads it. */
function outcomeOf(error: unknown): UpstreamLoginOutcome {
  if (error instanceof LastingRefusal) return { ok: false, lasting: true, reason: error.reason };
  const reason = error instanceof LoginRefusal ? refusalSummary(error.response) : describeError(error);
  return { ok: false, lasting: false, reason };
}

/** Errors of the network, which a later try may not meet (a reset, a timeout), as opposed to a refused certificate. */
const NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** A TLS failure without a code is the connection closing mid-handshake: the network, too. */
function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || NETWORK_ERRORS.has(code);
}
