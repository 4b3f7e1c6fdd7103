// `pg-passwordless doctor --json` as a user runs it (the built CLI, its own process, a clean environment
// plus the emulator's), for the GCP credential tests: the report, its steps by name, and no token
// anywhere in what it printed.
import assert from 'node:assert/strict';
import type { DoctorReport, DoctorStep } from '../../src/doctor/report.ts';
import { runCli } from '../cli/run-cli.ts';

/** Anything shaped like a Google access token or a JWT (a subject token, an assertion). */
const TOKEN_LIKE = /ya29\.|eyJ[\w-]+\.[\w-]+\./;

export interface GcpDoctorRun {
  code: number | null;
  report: DoctorReport;
  step(name: DoctorStep['step']): DoctorStep;
}

/** Runs the doctor with `--json` and reads its report; fails when anything token-like was printed. */
export async function gcpDoctor(env: Record<string, string>, args: string[] = []): Promise<GcpDoctorRun> {
  const run = await runCli(['doctor', ...args, '--json'], env, 60_000);
  assert.doesNotMatch(run.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(run.stderr, TOKEN_LIKE, 'no token on stderr');
  let report: DoctorReport;
  try {
    report = JSON.parse(run.stdout) as DoctorReport;
  } catch {
    assert.fail(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return {
    code: run.code,
    report,
    step: (name) => report.steps.find((step) => step.step === name) as DoctorStep,
  };
}
