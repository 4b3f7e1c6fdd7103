import { PasswordlessError } from '../core/errors.ts';

export type DoctorStepName = 'settings' | 'credential' | 'token' | 'dns' | 'tcp' | 'tls' | 'login' | 'query';
export type DoctorStatus = 'ok' | 'FAIL' | 'skip';

/**
 * One step of the doctor's walk. `code` names a failure: a library error code (`TOKEN_ENDPOINT_FAILED`)
 * or the doctor's own finding (`ROLE_MISSING`, `WRONG_AUDIENCE`, `CLOCK_SKEW`, `TLS_UNTRUSTED`, ...).
 *
 * @example
 * const step: DoctorStep = { step: 'tcp', status: 'FAIL', code: 'ECONNREFUSED', detail: 'connect ECONNREFUSED 127.0.0.1:1', hint: 'Is the server running?' };
 * console.log(formatDoctorReport({ ok: false, steps: [step] }));
 */
export interface DoctorStep {
  step: DoctorStepName;
  status: DoctorStatus;
  detail: string;
  hint?: string;
  code?: string;
  /** Machine-readable facts (never a token, a password or a secret header). */
  data?: Record<string, unknown>;
}

/**
 * The doctor's report: `ok` is true only when no step failed.
 *
 * @example
 * const report: DoctorReport = { ok: true, steps: [] };
 * console.log(JSON.stringify(report)); // {"ok":true,"steps":[]}
 */
export interface DoctorReport {
  ok: boolean;
  steps: DoctorStep[];
}

/** The steps found so far, in order; a step that depends on a failed one is added as skipped. */
export class StepLog {
  readonly steps: DoctorStep[] = [];

  add(step: DoctorStep): void {
    this.steps.push(step);
  }

  skip(names: DoctorStepName[], because: string): void {
    for (const step of names) this.add({ step, status: 'skip', detail: because });
  }

  failed(name: DoctorStepName): boolean {
    return this.steps.some((step) => step.step === name && step.status === 'FAIL');
  }
}

/** A failed step from anything thrown: a PasswordlessError's code and hint, else the error's own code. */
export function errorStep(step: DoctorStepName, error: unknown, data?: Record<string, unknown>): DoctorStep {
  if (error instanceof PasswordlessError) {
    // The message without its "Hint:" line; the hint has its own field.
    const message = error.hint
      ? error.message.slice(0, error.message.lastIndexOf('\nHint: '))
      : error.message;
    return {
      step,
      status: 'FAIL',
      code: error.code,
      detail: message.replace(/\s*\n\s*/g, ' '),
      hint: error.hint,
      data,
    };
  }
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    step,
    status: 'FAIL',
    code: typeof code === 'string' ? code : 'ERROR',
    detail: String(message ?? error).replace(/\s*\n\s*/g, ' '),
    data,
  };
}

/** The report, with the token scrubbed from every field should any text have picked it up. */
export function finishReport(steps: DoctorStep[], token: string | undefined): DoctorReport {
  let clean = steps;
  if (token && token.length >= 8 && JSON.stringify(steps).includes(token)) {
    clean = JSON.parse(JSON.stringify(steps).split(token).join('[redacted token]')) as DoctorStep[];
  }
  return { ok: clean.every((step) => step.status !== 'FAIL'), steps: clean };
}

/**
 * One line per step: `ok`, `FAIL` or `skip`, the step, what was found, and for a failure its code and
 * what to do.
 *
 * @example
 * console.log(formatDoctorReport({ ok: true, steps: [{ step: 'dns', status: 'ok', detail: 'localhost → 127.0.0.1' }] }));
 * // ok    dns         localhost → 127.0.0.1
 */
export function formatDoctorReport(report: DoctorReport): string {
  return report.steps
    .map((step) => {
      const code = step.status === 'FAIL' && step.code ? `${step.code}: ` : '';
      const hint = step.hint && step.status === 'FAIL' ? ` (hint: ${step.hint})` : '';
      return `${step.status.padEnd(4)}  ${step.step.padEnd(10)}  ${code}${step.detail}${hint}`;
    })
    .join('\n');
}

/**
 * Facts by name as words for a report line: `{ signingHost: 'db:5432' }` → `signing host db:5432`.
 *
 * @example
 * console.log(describeFacts({ signingHost: 'db.example.com:5432', region: 'eu-west-1' })); // signing host db.example.com:5432, region eu-west-1
 */
export function describeFacts(facts: Readonly<Record<string, string>>): string {
  return Object.entries(facts)
    .map(([name, value]) => `${name.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)} ${value}`)
    .join(', ');
}
