import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Bin,
  defineCommand,
  type Io,
  type OptionsConfig,
  type ParsedArgs,
  parseCommandArgs,
  runBin,
  type UsageErrorFactory,
} from 'pg-passwordless/cli-frame';
import { roleArnOf } from './clouds/aws-identity.ts';
import type { IdentityInput } from './clouds/azure.ts';
import { PRINCIPAL_KIND } from './clouds/azure-played-credential.ts';
import { EmulatorError } from './emulator-error.ts';
import type { EmulatorOptions } from './emulator-options.ts';
import { loopbackHost } from './loopback-host.ts';
import { formatExports } from './shell-env.ts';
import { startEmulator } from './start-emulator.ts';

export const EMULATOR_HELP = `Usage: pg-passwordless-emulator [options]       (also: pg-passwordless emulator [options])
       pg-passwordless-emulator stop [--export-file FILE]

Runs a local cloud: identity endpoints that the official SDKs talk to, and a PostgreSQL gateway that
accepts that cloud's tokens as passwords, in front of a real PostgreSQL (or embedded PGlite). When
ready it prints the environment a client needs as "export NAME=value" lines, then runs in the
foreground until SIGINT or SIGTERM; with --detach it returns once ready and keeps running in the
background until "pg-passwordless-emulator stop".

Options:
  --cloud azure|aws|gcp            the cloud to play (default azure): Azure managed identity + Entra
                                   tokens; AWS container credentials + RDS IAM (or Aurora DSQL)
                                   tokens; a GCP metadata server + Cloud SQL (or AlloyDB) IAM tokens
  --service NAME                   the database the gateway plays, one of the cloud's (azure has one):
                                   aws --service rds|dsql: rds (default: RDS and Aurora PostgreSQL) or
                                   dsql (Aurora DSQL: the role admin takes DbConnectAdmin tokens, the
                                   --aws-user roles DbConnect tokens); gcp --service cloudsql|alloydb:
                                   Cloud SQL (default) or AlloyDB, each with its login scopes and
                                   refusal text
  --detach                         return once ready, leaving the emulator running in the background;
                                   its PID is printed as PG_PASSWORDLESS_EMULATOR_PID
  --export-file FILE               also write the export lines to FILE (mode 0600, written whole, so it
                                   exists only once the emulator is ready); removed at exit if created
  --backend auto|postgres|pglite   database behind the gateway (default auto: PostgreSQL when installed)
  --backend-url URL                use a PostgreSQL you run instead, by a superuser URL; it must trust
                                   the gateway's logins: best over a private Unix socket
                                   (?host=/socket/folder), since "trust" on TCP lets every local user in
  --host ADDRESS                   loopback address to listen on: 127.x.y.z, ::1 or localhost
                                   (default 127.0.0.1); any other address is refused
  --cert-ip-only                   the gateway's certificate names only IP addresses (127.0.0.1, ::1
                                   and --host's), no DNS:localhost, as a server reached by IP address
                                   does: a client that checks an IP target against a name fails
  --port N                         gateway port (default: a free port)
  --identity-port N                identity endpoint port (default: a free port)
  --token-lifetime SECONDS         lifetime of issued tokens (default 3600)
  --identity NAME                  azure: the identity the credential signs in as (default: orders-api):
                                   a system-assigned managed identity, a user-assigned one for
                                   workload-identity, an application for service-principal
  --user-identity NAME[=CLIENT_ID] azure: a user-assigned managed identity (repeatable)
  --azure-cloud public|usgov|china azure: the audience the gateway expects (default public)
  --azure-credential KIND          azure: what the client environment signs in with (default
                                   managed-identity: the App Service endpoint); workload-identity: a
                                   federated token file exchanged at the Entra token endpoint (HTTPS,
                                   AZURE_AUTHORITY_HOST); service-principal: a client secret and a
                                   certificate file at that endpoint (unset AZURE_CLIENT_SECRET to
                                   sign in with the certificate)
  --aws-user NAME                  aws: an IAM database user, granted rds_iam (default: app_user)
  --aws-credential container|pod-identity|web-identity
                                   aws: how the SDK gets its credentials: ECS-style container
                                   credentials (the default: AWS_CONTAINER_CREDENTIALS_FULL_URI +
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN); the EKS Pod Identity agent with
                                   a token file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE); IRSA, a token
                                   file exchanged at STS (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
                                   AWS_ENDPOINT_URL_STS)
  --aws-credential-lifetime SECONDS
                                   aws: lifetime of the credentials handed out (default 6 h; STS: 1 h),
                                   short to see them expire under a live pool
  --aws-role-arn ARN               aws: the IAM role of the workload (default arn:aws:iam::
                                   000000000000:role/pg-passwordless-emulator)
  --dsql-session-cap SECONDS       aws dsql: end each session this long after its login (default 3600,
                                   DSQL's 60 minutes; a few seconds let a test see it)
  --gcp-service-account EMAIL      gcp: a service account of the instance (default: orders@pg-passwordless-
                                   emulator.iam.gserviceaccount.com); its user is the email without
                                   .gserviceaccount.com
  --gcp-credential metadata|key-file|external-account
                                   gcp: how clients get credentials (default metadata): the metadata
                                   server (GCE_METADATA_HOST); a service-account key file whose
                                   assertions reach the emulator's token endpoint (HTTPS_PROXY, since
                                   google-auth-library ignores token_uri); or workload identity
                                   federation: an external_account file, a subject token file, the
                                   emulator's STS and service account impersonation
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
  -h, --help                       show this help

Control API, on the identity endpoint's origin ($PG_PASSWORDLESS_EMULATOR_URL), with the header
X-Emulator-Secret: $PG_PASSWORDLESS_EMULATOR_SECRET:
  POST /emulator/faults   {"status":429,"retryAfterSeconds":2} sets faults; {} clears them
  GET  /emulator/counters identity requests, tokens issued, faults injected, gateway logins
SIGINT or SIGTERM (or "stop") stops everything and removes what the emulator created.`;

/** The emulator's flags, as `node:util`'s parseArgs takes them. */
const OPTIONS: OptionsConfig = {
  backend: { type: 'string' },
  'backend-url': { type: 'string' },
  host: { type: 'string' },
  'cert-ip-only': { type: 'boolean' },
  port: { type: 'string' },
  'identity-port': { type: 'string' },
  'token-lifetime': { type: 'string' },
  identity: { type: 'string', multiple: true },
  'user-identity': { type: 'string', multiple: true },
  cloud: { type: 'string' },
  'azure-cloud': { type: 'string' },
  'azure-credential': { type: 'string' },
  'aws-user': { type: 'string', multiple: true },
  'aws-credential': { type: 'string' },
  'aws-credential-lifetime': { type: 'string' },
  'aws-role-arn': { type: 'string' },
  'dsql-session-cap': { type: 'string' },
  'gcp-service-account': { type: 'string', multiple: true },
  'gcp-credential': { type: 'string' },
  service: { type: 'string' },
  'password-role': { type: 'string' },
  insecure: { type: 'boolean' },
  pgbouncer: { type: 'boolean' },
  latency: { type: 'string' },
  'fail-status': { type: 'string' },
  'retry-after': { type: 'string' },
  'fail-count': { type: 'string' },
  drop: { type: 'boolean' },
  'export-file': { type: 'string' },
  detach: { type: 'boolean' },
};

/** Bad arguments are the emulator's own errors, as everything it throws. */
const usageError: UsageErrorFactory = (message, hint) =>
  new EmulatorError('CONFIG_INVALID', message, { hint });

const AZURE_CREDENTIALS = ['managed-identity', 'workload-identity', 'service-principal'] as const;

/** A port, or 0 for a free one. */
const PORT = { min: 0, max: 65_535 };

/**
 * Parses the emulator's flags into options, through the command frame the library's bin uses too;
 * throws EmulatorError(CONFIG_INVALID) on bad input.
 *
 * @example
 * const { options } = parseEmulatorArgs(['--cloud', 'aws', '--token-lifetime', '60'], {});
 * console.log(options.cloud, options.tokenLifetimeSeconds); // aws 60
 */
export function parseEmulatorArgs(
  args: string[],
  env: NodeJS.ProcessEnv,
): { options: EmulatorOptions; exportFile?: string; detach: boolean } {
  return readEmulatorArgs(
    parseCommandArgs(args, { usage: BIN, options: OPTIONS, positionals: 'none', usageError }),
    env,
  );
}

function readEmulatorArgs(
  args: ParsedArgs,
  env: Io['env'],
): { options: EmulatorOptions; exportFile?: string; detach: boolean } {
  const azureCredential = args.oneOf('azure-credential', AZURE_CREDENTIALS);
  // The identity the credential signs in as is `orders-api` unless --identity names others (of the
  // credential's kind); user-assigned ones come on top.
  const named = args.texts('identity');
  const kind = PRINCIPAL_KIND[azureCredential ?? 'managed-identity'];
  const identities: IdentityInput[] = [
    ...(named.length > 0 ? named : ['orders-api']).map((name) => ({ name, kind })),
    ...args.texts('user-identity').map((spec) => {
      const [name, clientId] = spec.split('=');
      return { name: name as string, kind: 'user' as const, ...(clientId ? { clientId } : {}) };
    }),
  ];
  const host = args.text('host');
  const options: EmulatorOptions = {
    backend: args.text('backend-url')
      ? { url: args.text('backend-url') as string }
      : args.oneOf('backend', ['auto', 'postgres', 'pglite'] as const),
    // Refused here too, so a bad --host fails before anything starts.
    host: host === undefined ? undefined : loopbackHost(host),
    ...(args.flag('cert-ip-only') ? { certificateNames: 'ip-only' as const } : {}),
    gatewayPort: args.wholeNumber('port', PORT),
    identityPort: args.wholeNumber('identity-port', PORT),
    tokenLifetimeSeconds: args.wholeNumber('token-lifetime', { min: 1, max: Number.POSITIVE_INFINITY }),
    cloud: args.oneOf('cloud', ['azure', 'aws', 'gcp'] as const),
    azureCloud: args.oneOf('azure-cloud', ['public', 'usgov', 'china'] as const),
    azureCredential,
    ...(args.texts('aws-user').length > 0 ? { awsUsers: args.texts('aws-user') } : {}),
    ...awsIdentityOf(args),
    ...(args.texts('gcp-service-account').length > 0
      ? { gcpServiceAccounts: args.texts('gcp-service-account') }
      : {}),
    ...gcpCredentialOf(args),
    ...servicesOf(args),
    allowInsecure: args.flag('insecure'),
    pgbouncer: args.flag('pgbouncer'),
    identities,
    ...passwordRole(args, env),
    ...faultsOf(args),
  };
  return { options, exportFile: args.text('export-file'), detach: args.flag('detach') };
}

/** `--gcp-credential`: how GCP clients get their credentials. */
function gcpCredentialOf(args: ParsedArgs): Pick<EmulatorOptions, 'gcpCredential'> {
  const gcpCredential = args.oneOf('gcp-credential', ['metadata', 'key-file', 'external-account'] as const);
  return gcpCredential ? { gcpCredential } : {};
}

/** The databases each cloud can play, by `--service` (the first is the default); Azure plays one. */
const SERVICES = { aws: ['rds', 'dsql'], gcp: ['cloudsql', 'alloydb'] } as const;

/**
 * `--service`, read for the cloud given (each cloud has its own databases), and `--dsql-session-cap`,
 * which belongs to aws's dsql. Azure plays one database: a `--service` there is a forgotten `--cloud`.
 */
function servicesOf(
  args: ParsedArgs,
): Pick<EmulatorOptions, 'awsService' | 'gcpService' | 'dsqlSessionCapSeconds'> {
  const cloud = args.text('cloud') ?? 'azure';
  if (cloud === 'azure' && args.text('service') !== undefined) {
    throw new EmulatorError(
      'CONFIG_INVALID',
      `--service ${args.text('service')} needs the cloud it belongs to.`,
      { hint: 'Aurora DSQL: --cloud aws --service dsql; AlloyDB: --cloud gcp --service alloydb.' },
    );
  }
  const awsService = cloud === 'aws' ? args.oneOf('service', SERVICES.aws) : undefined;
  const gcpService = cloud === 'gcp' ? args.oneOf('service', SERVICES.gcp) : undefined;
  const capSeconds = args.wholeNumber('dsql-session-cap', { min: 1, max: Number.POSITIVE_INFINITY });
  if (capSeconds !== undefined && awsService !== 'dsql') {
    throw new EmulatorError('CONFIG_INVALID', '--dsql-session-cap is for --cloud aws --service dsql.', {
      hint: 'Add --cloud aws --service dsql, or leave --dsql-session-cap out.',
    });
  }
  return {
    ...(awsService !== undefined ? { awsService } : {}),
    ...(gcpService !== undefined ? { gcpService } : {}),
    ...(capSeconds !== undefined ? { dsqlSessionCapSeconds: capSeconds } : {}),
  };
}

function passwordRole(args: ParsedArgs, env: Io['env']): Pick<EmulatorOptions, 'passwordRole'> {
  const name = args.text('password-role');
  if (!name) return {};
  const password = env.PG_PASSWORDLESS_EMULATOR_PASSWORD;
  if (!password) {
    throw new EmulatorError(
      'CONFIG_INVALID',
      '--password-role needs PG_PASSWORDLESS_EMULATOR_PASSWORD to be set.',
      {
        hint: 'Passwords are never taken from the command line, where any user can read them.',
      },
    );
  }
  return { passwordRole: { name, password } };
}

function faultsOf(args: ParsedArgs): Pick<EmulatorOptions, 'faults'> {
  const forever = Number.POSITIVE_INFINITY;
  const faults = {
    latencyMs: args.wholeNumber('latency', { min: 0, max: forever }),
    status: args.wholeNumber('fail-status', { min: 100, max: 599 }),
    retryAfterSeconds: args.wholeNumber('retry-after', { min: 0, max: forever }),
    drop: args.flag('drop'),
    count: args.wholeNumber('fail-count', { min: 1, max: forever }),
  };
  return faults.status !== undefined || faults.drop || faults.latencyMs !== undefined ? { faults } : {};
}

/** How the AWS SDK gets its credentials from the emulator, and for how long they last. */
function awsIdentityOf(
  args: ParsedArgs,
): Pick<EmulatorOptions, 'awsCredential' | 'awsCredentialLifetimeSeconds' | 'awsRoleArn'> {
  const identity = {
    awsCredential: args.oneOf('aws-credential', ['container', 'pod-identity', 'web-identity'] as const),
    awsCredentialLifetimeSeconds: args.wholeNumber('aws-credential-lifetime', {
      min: 1,
      max: Number.POSITIVE_INFINITY,
    }),
    // Refused here too, so a bad --aws-role-arn fails before anything starts.
    awsRoleArn: args.text('aws-role-arn') === undefined ? undefined : roleArnOf(args.text('aws-role-arn')),
  };
  return Object.fromEntries(Object.entries(identity).filter(([, value]) => value !== undefined));
}

const BIN = 'pg-passwordless-emulator';

/** Starts the emulator: in the foreground until SIGINT or SIGTERM, or detached with --detach. */
const startCommand = defineCommand({
  name: '',
  summary: 'run the local cloud (the default: `pg-passwordless-emulator [options]`)',
  options: OPTIONS,
  positionals: 'none',
  usageError,
  help: () => EMULATOR_HELP,
  run: async (args, io) => {
    const { options, exportFile, detach } = readEmulatorArgs(args, io.env);
    if (detach) return startDetached(args, io);
    return runInForeground(options, exportFile, io);
  },
});

/** Stops a detached emulator by the PID in the export file or PG_PASSWORDLESS_EMULATOR_PID. */
const stopCommand = defineCommand({
  name: 'stop',
  summary: 'stop an emulator started with --detach',
  options: { 'export-file': { type: 'string' } },
  positionals: 'none',
  usageError,
  help: () => EMULATOR_HELP,
  run: (args, io) => stopDetached(args.text('export-file'), io),
});

/** The emulator's bin, on the command frame the library's bin uses too. */
const emulatorBin: Bin = {
  name: BIN,
  version: packageVersion(),
  synopsis: `${BIN} [options]`,
  commands: [
    { name: 'start', summary: startCommand.summary, load: async () => startCommand },
    { name: 'stop', summary: stopCommand.summary, load: async () => stopCommand },
  ],
  fallback: 'start',
};

/** The version in this package's package.json: src/ and dist/ both sit one folder below it. */
function packageVersion(): string {
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}

/**
 * The emulator's command line: `stop`, `--help`, `--version`, `--detach` (start in the background and
 * return once ready), or run in the foreground until SIGINT or SIGTERM. Resolves with the exit code; an
 * error with a code (a bad flag, a backend that did not start) is reported on `io.stderr` with its code
 * and hint, and resolves with 1, so every command that runs this one (`pg-passwordless emulator`) says
 * the same.
 *
 * @example
 * const out = { write: (text: string) => (console.log(text.split('\n')[0]), true) } as NodeJS.WritableStream;
 * console.log(await runEmulatorCommand(['--help'], { stdout: out, stderr: out })); // 0
 * console.log(await runEmulatorCommand(['--cloud', 'oracle'], { stdout: out, stderr: out }));
 * // pg-passwordless-emulator: CONFIG_INVALID: --cloud must be one of azure, aws, gcp, not "oracle".
 * // 1
 */
export function runEmulatorCommand(
  args: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env?: Io['env'] },
): Promise<number> {
  return runBin(emulatorBin, args, { ...io, env: io.env ?? process.env });
}

async function runInForeground(
  options: EmulatorOptions,
  exportFile: string | undefined,
  io: Io,
): Promise<number> {
  const emulator = await startEmulator(options);
  const env = { ...emulator.env, PG_PASSWORDLESS_EMULATOR_PID: String(process.pid) };
  const exports = formatExports(env);
  const createdFile = exportFile ? writeExportFile(exportFile, exports) : false;
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
  // Tells a parent started with --detach that the emulator is ready, and with what environment.
  const detached = process.send !== undefined;
  process.send?.({ ready: true, exports });
  process.disconnect?.();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    // Run as `npx pg-passwordless-emulator &`, `kill $!` ends npx, which does not pass the signal on:
    // the emulator is then adopted by another process. Stop too, unless we were started to be detached.
    if (!detached) {
      const parent = process.ppid;
      setInterval(() => process.ppid !== parent && resolve(), 500).unref();
    }
  });
  await emulator.stop();
  if (createdFile && exportFile) rmSync(exportFile, { force: true });
  io.stderr.write('pg-passwordless emulator stopped\n');
  return 0;
}

/**
 * Writes the export lines whole (a temporary file renamed into place, mode 0600 whatever existed), so a
 * shell waiting for the file never reads half of it. Returns whether the file is new (only then is it
 * removed at exit: a file the user had is not ours to delete).
 */
function writeExportFile(path: string, exports: string): boolean {
  const existed = existsSync(path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temporary, exports, { mode: 0o600 });
  renameSync(temporary, path);
  return !existed;
}

/** Starts the emulator as a detached process and returns once it is ready, printing its environment. */
async function startDetached(parsed: ParsedArgs, io: Io): Promise<number> {
  const args = parsed.given.filter((arg) => arg !== '--detach');
  const entry = fileURLToPath(new URL('./main.js', import.meta.url));
  // Built entry when installed; the TypeScript source (through tsx) when run from the repository's tests.
  const script = existsSync(entry) ? entry : fileURLToPath(new URL('./main.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const outcome = await new Promise<{ exports: string } | { code: number | null }>((resolve) => {
    child.once('message', (message) => resolve(message as { exports: string }));
    child.once('exit', (code) => resolve({ code }));
  });
  if (!('exports' in outcome)) {
    io.stderr.write(stderr || `pg-passwordless-emulator: exited with ${outcome.code} before it was ready\n`);
    return 1;
  }
  child.stderr?.destroy();
  child.unref();
  io.stdout.write(outcome.exports);
  io.stderr.write(
    `pg-passwordless emulator running in the background (PID ${child.pid}); stop it with: pg-passwordless-emulator stop\n`,
  );
  return 0;
}

/** Stops a detached emulator by the PID in the export file or PG_PASSWORDLESS_EMULATOR_PID; waits until it is gone. */
async function stopDetached(file: string | undefined, io: Io): Promise<number> {
  const fromFile =
    file && existsSync(file)
      ? /PG_PASSWORDLESS_EMULATOR_PID=(\d+)/.exec(readFileSync(file, 'utf8'))?.[1]
      : undefined;
  const pid = Number(fromFile ?? io.env.PG_PASSWORDLESS_EMULATOR_PID);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new EmulatorError('CONFIG_INVALID', 'No emulator to stop: no PG_PASSWORDLESS_EMULATOR_PID.', {
      hint: "Run it in the shell that loaded the emulator's exports, or pass --export-file FILE.",
    });
  }
  if (!signal(pid, 'SIGTERM')) {
    io.stderr.write(`pg-passwordless emulator (PID ${pid}) is not running\n`);
    return 0;
  }
  for (let waitedMs = 0; signal(pid, 0); waitedMs += 100) {
    if (waitedMs > 15_000)
      throw new EmulatorError('EMULATOR_FAILED', `The emulator (PID ${pid}) did not stop within 15 s.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  io.stderr.write(`pg-passwordless emulator (PID ${pid}) stopped\n`);
  return 0;
}

/** Sends a signal (0: only checks the process exists); false when there is no such process. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
