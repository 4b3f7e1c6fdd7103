import type { Duplex } from 'node:stream';
import type { ProxyTelemetry } from '../core/telemetry/telemetry.ts';
import { errorFields, LoginRefusal } from '../wire/index.ts';

/**
 * The proxy's logins and sessions as its metrics count them. A login counts from its startup packet on
 * (not a cancel request, nor a connection that never says anything) and ends:
 * - `ok`: the session starts (and the sessions gauge goes up until the client's socket closes);
 * - `refused`: an ErrorResponse says no, the server's own (a role it does not know, a token it refuses)
 *   or the proxy's (its local password, its role, TLS from the network, too many clients, shutting down);
 * - `failed`: the login could not be done: no token, the server unreachable, TLS to it failing, the
 *   server breaking off (SQLSTATE class 08, connection exception, as the proxy then answers), a protocol
 *   error, or the login timeout.
 * A client that leaves mid-login is not counted: libpq leaves on purpose when a password is asked and
 * it has none (psql then prompts, and comes back with one).
 *
 * @example
 * const { createTelemetry, renderPrometheus } = await import('pg-passwordless');
 * const { Socket } = await import('node:net');
 *
 * const telemetry = createTelemetry();
 * const logins = new LoginOutcomes(telemetry.proxy({ cloud: 'azure', plugin: 'azure' }));
 * const client = new Socket();
 * logins.begin(client);
 * logins.succeeded(client);
 * const lines = renderPrometheus(telemetry.snapshot()).split('\n');
 * console.log(lines.filter((line) => /^pg_passwordless_proxy_(sessions|logins_total)\{/.test(line)));
 * // [ 'pg_passwordless_proxy_sessions{cloud="azure",plugin="azure"} 1',
 * //   'pg_passwordless_proxy_logins_total{cloud="azure",plugin="azure",result="ok"} 1' ]
 * client.destroy();
 */
export class LoginOutcomes {
  readonly #telemetry: ProxyTelemetry;
  /** When each login in progress sent its startup packet (performance.now()). */
  readonly #started = new WeakMap<Duplex, number>();

  constructor(telemetry: ProxyTelemetry) {
    this.#telemetry = telemetry;
  }

  /** The client's startup packet asked for a session. */
  begin(client: Duplex): void {
    this.#started.set(client, performance.now());
  }

  /** The session started: counted open until the client's socket closes. */
  succeeded(client: Duplex): void {
    if (!this.#end(client, 'ok')) return;
    this.#telemetry.sessionOpened();
    client.once('close', () => this.#telemetry.sessionClosed());
  }

  /** The login threw `error`; `clientLeft` when the client was gone by then. */
  failed(client: Duplex, error: unknown, clientLeft: boolean): void {
    if (clientLeft) {
      this.#started.delete(client);
      return;
    }
    this.#end(client, refusedBySomeone(error) ? 'refused' : 'failed');
  }

  /** The login ran out of time (the proxy's authentication timeout). */
  timedOut(client: Duplex): void {
    this.#end(client, 'failed');
  }

  /** Records a login that began, once; false when it had not begun (or was recorded already). */
  #end(client: Duplex, result: 'ok' | 'refused' | 'failed'): boolean {
    const startedMs = this.#started.get(client);
    if (startedMs === undefined) return false;
    this.#started.delete(client);
    this.#telemetry.login(result, (performance.now() - startedMs) / 1_000);
    return true;
  }
}

/** An ErrorResponse that says no; a connection exception (SQLSTATE class 08) is a failure to log in. */
function refusedBySomeone(error: unknown): boolean {
  if (!(error instanceof LoginRefusal)) return false;
  const sqlState = errorFields(error.response.subarray(5)).C ?? '';
  return !sqlState.startsWith('08');
}
