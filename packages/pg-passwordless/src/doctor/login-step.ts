import { toPgConfig } from '../adapters/pg.ts';
import type { LoginContext } from '../core/doctor-hooks.ts';
import { loadPeer } from '../core/load-peer.ts';
import { createRefusedLoginPolicy, isRefusedLogin } from '../core/refused-login.ts';
import { explainLoginFailure } from './login-failure.ts';
import { errorStep, type StepLog } from './report.ts';
import type { SettingsOutcome } from './settings-step.ts';
import type { TokenOutcome } from './token-step.ts';

/** The part of `pg` the doctor uses. */
interface PgClientLike {
  connect(): Promise<unknown>;
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
type PgClientClass = new (config: object) => PgClientLike;

/**
 * Steps 7 and 8: the login with `pg`, exactly as `createPool` would log in, and `select current_user`.
 * A refused login goes through the same refused-login policy as the pool and the proxy: when it renews
 * the token, the login is tried once more, and the report says which token was refused.
 */
export async function loginSteps(
  log: StepLog,
  outcome: SettingsOutcome,
  token: TokenOutcome,
  options: { now: () => number; timeoutMs: number },
): Promise<void> {
  let Client: PgClientClass;
  try {
    Client = (await loadPeer<{ default: { Client: PgClientClass } }>('pg', 'pg-passwordless doctor')).default
      .Client;
  } catch (error) {
    log.add(errorStep('login', error));
    log.skip(['query'], 'no login');
    return;
  }
  const { target } = outcome;
  const params = outcome.connection?.params ?? {};
  const config = { ...toPgConfig(target, params), connectionTimeoutMillis: options.timeoutMs };
  const user = config.user ?? target.user ?? '';
  let client = await tryLogin(Client, config);
  let note = '';
  if (client instanceof Error && isRefusedLogin(client) && params.token) {
    const verdict = await createRefusedLoginPolicy(params.token).afterRefusal(token.token);
    if (verdict.retry) {
      const second = await tryLogin(Client, config);
      if (!(second instanceof Error)) note = '; the cached token was refused, a renewed one was accepted';
      client = second;
    }
  }
  if (client instanceof Error) {
    const context: LoginContext = {
      user,
      host: target.host,
      port: target.port,
      database: target.database,
      token: token.facts,
      facts: token.identityFacts,
      now: options.now,
    };
    const diagnosis = explainLoginFailure(
      client as { code?: unknown; message?: unknown },
      outcome.cloud?.doctor,
      context,
    );
    log.add({
      step: 'login',
      status: 'FAIL',
      ...diagnosis,
      data: { sqlState: (client as { code?: unknown }).code },
    });
    log.skip(['query'], 'no login');
    return;
  }
  log.add({
    step: 'login',
    status: 'ok',
    detail: `logged in to ${target.host}:${target.port}/${config.database ?? ''} as "${user}" with the token${note}`,
  });
  await queryStep(log, client);
}

/** A connected client, or the error its login ended with (the client closed). */
async function tryLogin(Client: PgClientClass, config: object): Promise<PgClientLike | Error> {
  const client = new Client(config);
  client.on('error', () => undefined); // a late socket error after end() must not crash the doctor
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    return error as Error;
  }
}

async function queryStep(log: StepLog, client: PgClientLike): Promise<void> {
  try {
    const { rows } = await client.query('select current_user');
    const current = String(rows[0]?.current_user);
    log.add({
      step: 'query',
      status: 'ok',
      detail: `select current_user → ${current}`,
      data: { currentUser: current },
    });
  } catch (error) {
    log.add({
      step: 'query',
      status: 'FAIL',
      code: String((error as { code?: unknown }).code ?? 'QUERY_FAILED'),
      detail: (error as Error).message,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
