import { PasswordlessError } from '../core/errors.ts';
import { formatDoctorReport } from '../doctor/report.ts';
import { type DoctorOptions, runDoctor } from '../doctor/run-doctor.ts';
import { printableArgument } from './printable-argument.ts';

export type { DoctorReport, DoctorStatus, DoctorStep, DoctorStepName } from '../doctor/report.ts';
export type { DoctorOptions } from '../doctor/run-doctor.ts';

/** The help text of `pg-passwordless doctor`. */
export const DOCTOR_HELP = `Usage: pg-passwordless doctor [URL] [--json]

Walks the path from settings to "select current_user" and says, step by step, what works and what
to fix: settings, credential, token (decoded, never shown), dns, tcp, tls, login, query.

  URL       the connection URL (default: DATABASE_URL, else PGHOST, PGPORT, PGUSER, PGDATABASE)
  --json    print a machine-readable report instead of one line per step
  --help    show this help

Exit code 0 when no step failed, 1 otherwise.`;

/**
 * The `pg-passwordless doctor` command: parses its arguments, runs the doctor, prints the report and
 * returns the exit code (0 only when no step failed).
 *
 * @example
 * const code = await runDoctorCommand(['--json'], { stdout: process.stdout, stderr: process.stderr });
 * console.log(code); // 0 against a healthy server
 */
export async function runDoctorCommand(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  options: DoctorOptions = {},
): Promise<number> {
  let json = false;
  const positional: string[] = [];
  for (const arg of args) {
    if (arg === '--help' || arg === '-h') {
      io.stdout.write(`${DOCTOR_HELP}\n`);
      return 0;
    }
    if (arg === '--json') json = true;
    else if (arg.startsWith('-')) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `pg-passwordless doctor: unknown option ${printableArgument(arg)}.`,
        {
          hint: 'Run: pg-passwordless doctor --help',
        },
      );
    } else positional.push(arg);
  }
  if (positional.length > 1) {
    throw new PasswordlessError('CONFIG_INVALID', 'pg-passwordless doctor takes one connection URL.', {
      hint: 'Run: pg-passwordless doctor [URL] [--json]',
    });
  }
  const env = options.env ?? process.env;
  const report = await runDoctor(positional[0] ?? env.DATABASE_URL ?? '', { ...options, env });
  io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
  return report.ok ? 0 : 1;
}
