import { formatDoctorReport } from '../doctor/report.ts';
import { runDoctor } from '../doctor/run-doctor.ts';
import { defineCommand } from './frame/command.ts';

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
 * `pg-passwordless doctor [URL] [--json]`: runs the doctor, prints the report, and exits 0 only when no
 * step failed.
 *
 * @example
 * console.log(doctorCommand.name, doctorCommand.positionals); // doctor connection
 */
export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'walk the path to the database step by step and say what works and what to fix',
  options: { json: { type: 'boolean' } },
  positionals: 'connection',
  help: () => DOCTOR_HELP,
  run: async (args, io) => {
    const report = await runDoctor(args.connection ?? io.env.DATABASE_URL ?? '', { env: io.env });
    io.stdout.write(
      args.flag('json') ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`,
    );
    return report.ok ? 0 : 1;
  },
});
