import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describeError } from '../core/errors.ts';
import { chosenCloud, cloudOptionHelp } from './cloud-option.ts';
import { type CliConnection, libpqUrl, resolveCliConnection } from './connection.ts';
import { relaySignals, type SignalRelay } from './exec-signals.ts';
import { defineCommand } from './frame/command.ts';
import type { Io } from './frame/io.ts';
import type { ParsedArgs } from './frame/parsed-args.ts';
import { withoutValue } from './frame/printable-argument.ts';
import { keepPasswordFile, type LivePasswordFile } from './password-file.ts';

const EXEC_HELP = (cloudLine: string) => `Usage: pg-passwordless exec [options] -- <command> [args...]

Runs the command with the connection set for it alone: PGHOST, PGPORT, PGUSER, PGDATABASE,
PGSSLMODE (verify-full; verify-ca only with a private CA), PGSSLROOTCERT (and NODE_EXTRA_CA_CERTS for
Node tools, when the CA is not the system store's), DATABASE_URL (no password in it) and PGPASSFILE: a private password file (0600, in a 0700 temporary folder) that holds a current token
for the child's whole life. libpq (psql, pg_dump, pgbench) and node-postgres read it for every new
connection, so long runs keep logging in after the first token expires. The file is removed at exit;
one that a killed exec left (SIGKILL cannot be caught) is removed by the next exec, once the process
that made it is gone. The token never appears in an argument list.

Every signal that would end exec and can be caught (SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
SIGALRM, ...) is passed on to the command; exec waits for it and removes the file. At a terminal,
Ctrl-C and Ctrl-\\ reach the command directly, and only once. The exit code is the command's (128 + the
signal's number when a signal ended it).

  pg-passwordless exec -- psql -c 'select current_user'
  pg-passwordless exec -- pg_dump -Fc -f orders.dump
  pg-passwordless exec -- npx node-pg-migrate up

Options:
  --url URL        the target (else DATABASE_URL, else PGHOST, PGPORT, PGUSER, PGDATABASE)
${cloudLine}
  --token-in-url   for tools that read neither PGPASSFILE nor a password function (Prisma's engines):
                   also put the current token into DATABASE_URL (percent-encoded) and PGPASSWORD. That is
                   ONE token: it is not renewed, so the command must log in before it expires (from 15
                   minutes to about an hour, by cloud). A command may pass it on in an argument list
                   that every local user sees (Prisma's migrate hands it to its schema engine so): for
                   Prisma's migrations use \`pg-passwordless proxy\` instead
  -h, --help       show this help`;

/**
 * The child's environment: the parent's, less anything that would override the connection (a
 * PGPASSWORD would win over the password file), plus the target and the private files.
 *
 * How the child verifies the server: libpq reads PGSSLROOTCERT; Node tools (node-postgres,
 * postgres.js) read NODE_EXTRA_CA_CERTS. DATABASE_URL names no `sslrootcert` under verify-full:
 * postgres.js (Prisma Studio) sends a query parameter it does not know to the server as a startup
 * parameter, which PostgreSQL refuses (42704 unrecognized configuration parameter). Under verify-ca
 * it stays in the URL: without the name check, only the named CA may do (node-postgres reads it).
 */
function childEnv(
  parentEnv: Io['env'],
  connection: CliConnection,
  passwordFile: LivePasswordFile,
  trust: ChildTrust,
  tokenInUrl: boolean,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parentEnv };
  for (const name of ['PGPASSWORD', 'PGHOSTADDR', 'PGSERVICE', 'PGSSLROOTCERT', 'PGDATABASE'])
    delete env[name];
  const { host, port, database } = connection.target;
  Object.assign(env, {
    PGHOST: host,
    PGPORT: String(port),
    PGUSER: connection.user,
    PGSSLMODE: connection.sslmode,
    PGPASSFILE: passwordFile.path,
  });
  if (database) env.PGDATABASE = database;
  if (trust.caFile) env.PGSSLROOTCERT = trust.caFile;
  if (trust.nodeExtraCaFile) env.NODE_EXTRA_CA_CERTS = trust.nodeExtraCaFile;
  const url = {
    host,
    port,
    database,
    user: connection.user,
    sslmode: connection.sslmode,
    sslrootcert: connection.sslmode === 'verify-ca' ? trust.caFile : undefined,
  };
  env.DATABASE_URL = libpqUrl(url);
  if (tokenInUrl) {
    env.DATABASE_URL = libpqUrl({ ...url, password: passwordFile.current });
    env.PGPASSWORD = passwordFile.current;
  }
  return env;
}

/** The CA files a child verifies the server with: libpq's, and Node's extra roots when the CA is not the system store's. */
interface ChildTrust {
  caFile: string | undefined;
  nodeExtraCaFile: string | undefined;
}

/**
 * Node's extra roots for the child: the CA the library verifies with, after the parent's own
 * NODE_EXTRA_CA_CERTS (kept, since the child may need it for other servers), in the private folder, 0600.
 */
function nodeExtraCaFor(
  parentEnv: Io['env'],
  connection: CliConnection,
  caFile: string | undefined,
  folder: string,
): string | undefined {
  if (!caFile || connection.ca === 'system' || connection.ca === 'none') return undefined;
  const parent = parentEnv.NODE_EXTRA_CA_CERTS;
  const inherited = parent ? readFileIfAny(parent) : '';
  const path = join(folder, 'node-extra-ca.crt');
  writeFileSync(path, `${inherited}\n${readFileSync(caFile, 'utf8')}\n`, { mode: 0o600, flag: 'wx' });
  return path;
}

function readFileIfAny(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS
  }
}

/**
 * The CA file for libpq: the one the library reads, or the PEM it holds in memory (the RDS bundle,
 * Node's own root store for `system`) written into the private folder, 0600.
 */
function caFileFor(connection: CliConnection, folder: string): string | undefined {
  const { ca } = connection;
  if (ca === 'none') return undefined;
  if (typeof ca === 'object' && 'file' in ca) return ca.file;
  const pem = ca === 'system' ? rootCertificates.join('\n') : ca.pem;
  const path = join(folder, 'root.crt');
  writeFileSync(path, `${pem}\n`, { mode: 0o600, flag: 'wx' });
  return path;
}

/**
 * `pg-passwordless exec [--url URL] [--cloud NAME] [--token-in-url] -- <command> [args...]`: runs the
 * command with the connection in its environment and a password file kept current for its whole
 * life; resolves with the command's exit code. Configuration errors are thrown before it starts.
 *
 * @example
 * console.log(execCommand.name, execCommand.positionals); // exec command
 */
export const execCommand = defineCommand({
  name: 'exec',
  summary: 'run a command with the connection and a password file kept current (-- psql, pgbench, ...)',
  options: { url: { type: 'string' }, cloud: { type: 'string' }, 'token-in-url': { type: 'boolean' } },
  positionals: 'command',
  help: async (io) => EXEC_HELP(await cloudOptionHelp(io.env, 17)),
  run: runWithConnection,
});

async function runWithConnection(args: ParsedArgs, io: Io): Promise<number> {
  if (args.command.length === 0)
    throw args.error(
      'No command to run.',
      'Put it after "--": pg-passwordless exec -- psql -c "select current_user".',
    );
  const connection = await resolveCliConnection({
    url: args.text('url'),
    cloud: await chosenCloud(args, io.env),
    env: io.env,
  });
  const warn = (message: string) => io.stderr.write(`pg-passwordless: warning: ${message}\n`);
  // From before the folder exists to after it is removed, no catchable signal ends this process.
  const relay = relaySignals();
  const passwordFile = await keepPasswordFile(
    {
      host: connection.target.host,
      port: connection.target.port,
      user: connection.user,
      getToken: connection.getToken,
      token: connection.token,
    },
    warn,
  ).catch((error: unknown) => {
    relay.stop();
    throw error;
  });
  // Removed even when this process ends abruptly (an uncaught error elsewhere, process.exit).
  const removeOnExit = () => passwordFile.close();
  process.once('exit', removeOnExit);
  try {
    const caFile = caFileFor(connection, passwordFile.folder);
    const trust = {
      caFile,
      nodeExtraCaFile: nodeExtraCaFor(io.env, connection, caFile, passwordFile.folder),
    };
    const env = childEnv(io.env, connection, passwordFile, trust, args.flag('token-in-url'));
    return await runChild(args.command, env, io, relay);
  } finally {
    process.removeListener('exit', removeOnExit);
    passwordFile.close();
    relay.stop();
  }
}

function runChild(command: string[], env: NodeJS.ProcessEnv, io: Io, relay: SignalRelay): Promise<number> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: 'inherit' });
    relay.follow(child);
    child.once('error', (error: NodeJS.ErrnoException) => {
      // spawn failed: no child ran (ENOENT: not found, EACCES: not executable), as a shell says it. Only
      // the code: Node's message repeats the file ("spawn <file> ENOENT"), which may be a password= word.
      io.stderr.write(
        `pg-passwordless: cannot run ${JSON.stringify(withoutValue(file))}: ${error.code ?? describeError(error)}\n`,
      );
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
