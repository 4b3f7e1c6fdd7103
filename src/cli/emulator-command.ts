import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PasswordlessError } from '../core/errors.ts';
import { type EmulatorOptions, type IdentityInput, startEmulator } from '../emulator/index.ts';
import { formatExports } from './shell-env.ts';

export const EMULATOR_HELP = `Usage: pg-passwordless emulator [options]

Runs a local cloud in the foreground: identity endpoints that the official SDKs talk to, and a
PostgreSQL gateway that accepts that cloud's tokens as passwords, in front of a real PostgreSQL (or
embedded PGlite). When ready it prints the environment a client needs as "export NAME=value" lines.

Options:
  --cloud azure|aws|gcp            the cloud to play (default azure): Azure managed identity + Entra
                                   tokens; AWS container credentials + RDS IAM tokens; a GCP metadata
                                   server + Cloud SQL IAM tokens
  --backend auto|postgres|pglite   database behind the gateway (default auto: PostgreSQL when installed)
  --backend-url URL                use a PostgreSQL you run instead, by a superuser URL; it must trust
                                   the gateway's logins from loopback (pg_hba.conf "trust")
  --host ADDRESS                   loopback address to listen on (default 127.0.0.1)
  --port N                         gateway port (default: a free port)
  --identity-port N                identity endpoint port (default: a free port)
  --token-lifetime SECONDS         lifetime of issued tokens (default 3600)
  --identity NAME                  azure: a system-assigned managed identity (default: orders-api)
  --user-identity NAME[=CLIENT_ID] azure: a user-assigned managed identity (repeatable)
  --azure-cloud public|usgov|china azure: the audience the gateway expects (default public)
  --aws-user NAME                  aws: an IAM database user, granted rds_iam (default: app_user)
  --gcp-service-account EMAIL      gcp: a service account of the instance (default: orders@pg-passwordless-
                                   emulator.iam.gserviceaccount.com); its user is the email without
                                   .gserviceaccount.com
  --password-role NAME             also allow password logins for NAME, with the password taken from
                                   PG_PASSWORDLESS_EMULATOR_PASSWORD (never from the command line)
  --insecure                       also accept logins without TLS (loopback tests only)
  --pgbouncer                      also serve a port whose sessions go through a real PgBouncer in
                                   transaction mode, like Azure's built-in one on 6432 (needs the
                                   postgres backend and the pgbouncer package)
  --latency MS                     fault: delay every token answer
  --fail-status CODE               fault: answer token requests with CODE (429, 500, 503, ...)
  --retry-after SECONDS            fault: Retry-After sent with --fail-status
  --fail-count N                   fault: only the next N token requests fail
  --drop                           fault: close token requests without an answer
  --env-file FILE                  also write the export lines to FILE (mode 0600), removed at exit
  --export-file FILE               the same; use it under npx or npm exec on Node 20, where Node itself
                                   takes --env-file from the command line of any script it runs
  -h, --help                       show this help

Faults can be changed while running: POST {"status":429,"retryAfterSeconds":2} to
<identity endpoint>/emulator/faults with the header X-Emulator-Secret: $PG_PASSWORDLESS_EMULATOR_SECRET;
GET <identity endpoint>/emulator/counters reads the counters.
SIGINT or SIGTERM stops everything and removes what the emulator created.`;

/** Parses the emulator's flags into options; throws PasswordlessError(CONFIG_INVALID) on bad input. */
export function parseEmulatorArgs(
  args: string[],
  env: NodeJS.ProcessEnv,
): { options: EmulatorOptions; envFile?: string; help: boolean } {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(args);
  } catch (cause) {
    throw new PasswordlessError('CONFIG_INVALID', (cause as Error).message, {
      hint: 'Run pg-passwordless emulator --help.',
    });
  }
  const { values } = parsed;
  const number = (name: keyof typeof values) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `--${name} must be a non-negative number, not "${raw}".`,
        { hint: 'Run pg-passwordless emulator --help.' },
      );
    }
    return value;
  };
  const oneOf = <T extends string>(name: keyof typeof values, allowed: readonly T[]): T | undefined => {
    const raw = values[name] as string | undefined;
    if (raw === undefined) return undefined;
    if (!allowed.includes(raw as T)) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `--${name} must be one of ${allowed.join(', ')}, not "${raw}".`,
        { hint: 'Run pg-passwordless emulator --help.' },
      );
    }
    return raw as T;
  };

  // The system-assigned identity is `orders-api` unless --identity names others; user-assigned ones come on top.
  const identities: IdentityInput[] = [
    ...(values.identity ?? ['orders-api']).map((name) => ({ name, kind: 'system' as const })),
    ...(values['user-identity'] ?? []).map((spec) => {
      const [name, clientId] = spec.split('=');
      return { name: name as string, kind: 'user' as const, ...(clientId ? { clientId } : {}) };
    }),
  ];
  const options: EmulatorOptions = {
    backend: values['backend-url']
      ? { url: values['backend-url'] }
      : oneOf('backend', ['auto', 'postgres', 'pglite'] as const),
    host: values.host,
    gatewayPort: number('port'),
    identityPort: number('identity-port'),
    tokenLifetimeSeconds: number('token-lifetime'),
    cloud: oneOf('cloud', ['azure', 'aws', 'gcp'] as const),
    azureCloud: oneOf('azure-cloud', ['public', 'usgov', 'china'] as const),
    ...(values['aws-user'] ? { awsUsers: values['aws-user'] } : {}),
    ...(values['gcp-service-account'] ? { gcpServiceAccounts: values['gcp-service-account'] } : {}),
    allowInsecure: values.insecure,
    pgbouncer: values.pgbouncer,
    identities,
  };
  if (values['password-role']) {
    const password = env.PG_PASSWORDLESS_EMULATOR_PASSWORD;
    if (!password) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        '--password-role needs PG_PASSWORDLESS_EMULATOR_PASSWORD to be set.',
        {
          hint: 'Passwords are never taken from the command line, where any user can read them.',
        },
      );
    }
    options.passwordRole = { name: values['password-role'], password };
  }
  const status = number('fail-status');
  if (status !== undefined || values.drop || values.latency !== undefined) {
    options.faults = {
      latencyMs: number('latency'),
      status,
      retryAfterSeconds: number('retry-after'),
      drop: values.drop,
      count: number('fail-count'),
    };
  }
  return { options, envFile: values['env-file'] ?? values['export-file'], help: values.help === true };
}

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      backend: { type: 'string' },
      'backend-url': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'identity-port': { type: 'string' },
      'token-lifetime': { type: 'string' },
      identity: { type: 'string', multiple: true },
      'user-identity': { type: 'string', multiple: true },
      cloud: { type: 'string' },
      'azure-cloud': { type: 'string' },
      'aws-user': { type: 'string', multiple: true },
      'gcp-service-account': { type: 'string', multiple: true },
      'password-role': { type: 'string' },
      insecure: { type: 'boolean' },
      pgbouncer: { type: 'boolean' },
      latency: { type: 'string' },
      'fail-status': { type: 'string' },
      'retry-after': { type: 'string' },
      'fail-count': { type: 'string' },
      drop: { type: 'boolean' },
      'env-file': { type: 'string' },
      'export-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Runs the emulator until SIGINT or SIGTERM. Resolves with the exit code. */
export async function runEmulatorCommand(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  const { options, envFile, help } = parseEmulatorArgs(args, process.env);
  if (help) {
    io.stdout.write(`${EMULATOR_HELP}\n`);
    return 0;
  }
  const emulator = await startEmulator(options);
  const exports = formatExports(emulator.env);
  if (envFile) writeFileSync(envFile, exports, { mode: 0o600 });
  io.stderr.write(
    `pg-passwordless emulator (${emulator.cloud}) ready: gateway ${emulator.gateway.host}:${emulator.gateway.port} (TLS), ` +
      `identity ${emulator.identityUrl}, backend ${emulator.backend.describe()}\n`,
  );
  if (emulator.pgbouncerGateway) {
    io.stderr.write(
      `PgBouncer port (transaction pooling): ${emulator.pgbouncerGateway.host}:${emulator.pgbouncerGateway.port}\n`,
    );
  }
  io.stdout.write(exports);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.stop();
  if (envFile) rmSync(envFile, { force: true });
  io.stderr.write('pg-passwordless emulator stopped\n');
  return 0;
}
