import type { Env } from '../core/connection-url.ts';
import type { Settings } from '../index.ts';
import { credentialStep } from './credential-step.ts';
import { loginSteps } from './login-step.ts';
import { networkSteps } from './network-steps.ts';
import { type DoctorReport, finishReport, StepLog } from './report.ts';
import { settingsStep } from './settings-step.ts';
import { tokenStep } from './token-step.ts';

export interface DoctorOptions {
  /** Programmatic settings, as for `resolveConnection`. */
  settings?: Settings;
  /** The environment to read (`process.env` by default). */
  env?: Env;
  now?: () => number;
  /** Per network step (DNS, TCP, TLS) and for the login: 5 s and 15 s by default. */
  networkTimeoutMs?: number;
  loginTimeoutMs?: number;
}

/**
 * Walks the path from settings to `select current_user` and says, step by step, what works and what to
 * fix: the settings (gate, clouds, target), the credential the cloud's chain will pick, the token
 * (fetched through the connection's token handle, decoded but never shown), DNS, TCP, TLS (the
 * certificate checked with the connection's own TLS options), the login with `pg`, its refusal named
 * by the cloud, and finally `select current_user`. Every step reads the connection resolved once, as
 * the drivers do: the doctor checks what the connection uses, not a copy of its rules. A later step that
 * depends on a failed one is skipped.
 *
 * @example
 * const report = await runDoctor(process.env.DATABASE_URL ?? '');
 * for (const step of report.steps) console.log(step.status, step.step, step.detail);
 * console.log(report.ok); // true against a healthy server
 */
export async function runDoctor(connectionUrl: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? options.settings?.env ?? process.env;
  const now = options.now ?? Date.now;
  const log = new StepLog();
  const outcome = await settingsStep(log, connectionUrl, options.settings, env);
  if (!outcome) {
    log.skip(
      ['credential', 'token', 'dns', 'tcp', 'tls', 'login', 'query'],
      'the settings could not be read',
    );
    return finishReport(log.steps, undefined);
  }
  credentialStep(log, outcome, env);
  const token = await tokenStep(log, outcome, now);
  const reachable = await networkSteps(log, outcome, options.networkTimeoutMs ?? 5_000);
  if (!token) {
    log.skip(['login', 'query'], 'no token');
  } else if (!reachable) {
    log.skip(
      ['login', 'query'],
      log.failed('tls') ? 'no token goes to a server whose TLS did not pass' : 'the server cannot be reached',
    );
  } else {
    await loginSteps(log, outcome, token, { now, timeoutMs: options.loginTimeoutMs ?? 15_000 });
  }
  return finishReport(log.steps, token?.token);
}
