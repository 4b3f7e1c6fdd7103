// `pg-passwordless exec`: the bin as a user runs it, against the emulator, with real psql and
// node-postgres as children. The token must reach a child only through its environment and the
// password file, never an argument list (read from /proc/<pid>/cmdline while the child runs).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { execCommand } from '../../src/cli/exec-command.ts';
import { parseCommandArgs } from '../../src/cli/frame/parsed-args.ts';
import { loadRdsCaBundle } from '../../src/plugins/aws/rds-ca.ts';
import { bin, runCli, runProgram, startCli } from './run-cli.ts';

const childReport = fileURLToPath(new URL('./fixtures/child-report.mjs', import.meta.url));

interface Report {
  pid: number;
  ppid: number;
  passfile: string;
  passfileMode: string;
  folderMode: string;
  caMode: string | undefined;
  caCertificates: number;
  fields: string[];
  tokenLength: number;
  processesRead: number;
  processesWithToken: number;
  urlHasPassword: boolean;
  urlPasswordIsToken: boolean;
  pgpasswordIsToken: boolean;
  pgpasswordSet: boolean;
  nodeExtraCa: string | undefined;
  env: Record<string, string | undefined>;
  urlWithoutPassword: string;
}

function readReport(stdout: string): Report {
  const line = stdout.split('\n').find((text) => text.startsWith('REPORT '));
  assert.ok(line, 'the child reported');
  return JSON.parse(line.slice('REPORT '.length)) as Report;
}

function argvOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

const psqlCurrentUser = ['--', 'psql', '-X', '-At', '-c', 'select current_user'];

describe('pg-passwordless exec (Azure)', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(() => emulator?.stop());

  it('runs psql with the connection: select current_user prints the role', async () => {
    const result = await runCli(['exec', ...psqlCurrentUser], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
  });

  it('the password file wins over a PGPASSWORD of the caller, which the child does not see', async () => {
    const result = await runCli(['exec', ...psqlCurrentUser], { ...emulator.env, PGPASSWORD: 'stale' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
  });

  it('returns the exit code of the command (127 when it cannot be found)', async () => {
    const failed = await runCli(['exec', '--', 'sh', '-c', 'exit 42'], emulator.env);
    assert.equal(failed.code, 42, failed.stderr);
    const psqlError = await runCli(
      ['exec', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'select nope'],
      emulator.env,
    );
    assert.equal(psqlError.code, 1, 'psql: the statement failed');
    assert.match(psqlError.stderr, /column "nope" does not exist/);
    const missing = await runCli(['exec', '--', 'no-such-command-here'], emulator.env);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /cannot run "no-such-command-here": ENOENT/);
  });

  it('gives the child the target, a 0600 password file in a 0700 folder, no token in any argv; SIGTERM is forwarded and the file removed', async () => {
    const running = startCli(['exec', '--', process.execPath, childReport], emulator.env);
    await running.waitFor('REPORT ');
    const report = readReport(running.stdout());
    const execPid = running.child.pid as number;
    assert.equal(report.ppid, execPid, 'exec runs the command itself, no shell in between');
    // The argument lists, as ps shows them, are exactly what was typed: no token anywhere.
    assert.deepEqual(argvOf(report.pid), [process.execPath, childReport]);
    assert.deepEqual(argvOf(execPid), [process.execPath, bin, 'exec', '--', process.execPath, childReport]);
    assert.ok(report.tokenLength > 100, 'the password file holds the token');
    assert.ok(report.processesRead > 3);
    assert.equal(report.processesWithToken, 0, 'no process on this machine has the token in its argv');
    assert.equal(report.passfileMode, '600');
    assert.equal(report.folderMode, '700');
    assert.deepEqual(report.fields, [emulator.env.PGHOST, emulator.env.PGPORT, '*', 'orders-api']);
    assert.deepEqual(report.env, {
      PGHOST: emulator.env.PGHOST,
      PGPORT: emulator.env.PGPORT,
      PGUSER: 'orders-api',
      PGDATABASE: emulator.env.PGDATABASE,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: emulator.caPath,
    });
    assert.equal(report.urlHasPassword, false, 'DATABASE_URL carries no password');
    assert.equal(report.pgpasswordSet, false);
    // No sslrootcert in the URL under verify-full: postgres.js would send it to the server as a startup
    // parameter, which PostgreSQL refuses. libpq reads PGSSLROOTCERT; Node tools, NODE_EXTRA_CA_CERTS.
    assert.equal(
      report.urlWithoutPassword,
      `postgresql://orders-api@${emulator.env.PGHOST}:${emulator.env.PGPORT}/${emulator.env.PGDATABASE}?sslmode=verify-full`,
    );
    assert.ok(
      String(report.nodeExtraCa).includes(readFileSync(emulator.caPath, 'utf8').trim()),
      'Node tools trust the CA the library verifies with',
    );

    process.kill(execPid, 'SIGTERM');
    const result = await running.done;
    assert.match(result.stdout, /got SIGTERM/, 'the child received the signal');
    assert.equal(result.code, 42, `the child's exit code; ${result.stderr}`);
    assert.equal(existsSync(report.passfile), false, 'the password file is removed at exit');
    assert.equal(existsSync(report.passfile.replace(/\/pgpass$/, '')), false, 'and its folder');
  });

  it('writes a CA the library holds only in memory (here: the system roots) to a 0600 file in the private folder', async () => {
    const { PGSSLROOTCERT, NODE_EXTRA_CA_CERTS, ...systemRoots } = emulator.env;
    const running = startCli(['exec', '--', process.execPath, childReport], systemRoots);
    await running.waitFor('REPORT ');
    const report = readReport(running.stdout());
    process.kill(running.child.pid as number, 'SIGTERM');
    assert.equal((await running.done).code, 42);
    assert.equal(report.env.PGSSLROOTCERT, report.passfile.replace(/pgpass$/, 'root.crt'));
    assert.equal(report.caMode, '600');
    assert.ok(report.caCertificates > 50, `Node's root store: ${report.caCertificates} certificates`);
    assert.equal(existsSync(report.env.PGSSLROOTCERT as string), false, 'removed at exit');
  });

  it('never hands a child PGSSLMODE=verify-ca with the public roots: refused before the command runs', async () => {
    // NODE_EXTRA_CA_CERTS stays: the system store trusts the emulator's CA, as it trusts every public CA.
    const { PGSSLROOTCERT, ...systemStore } = emulator.env;
    const { host, port } = emulator.gateway;
    const base = `postgresql://orders-api@${host}:${port}/${emulator.env.PGDATABASE}`;
    for (const [args, env, roots] of [
      [[], { ...systemStore, PGSSLMODE: 'verify-ca' }, 'the system trust store'],
      [['--url', `${base}?sslmode=verify-ca&sslrootcert=system`], emulator.env, 'sslrootcert=system'],
      [[], { ...emulator.env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: 'system' }, 'PGSSLROOTCERT=system'],
    ] as const) {
      const result = await runCli(['exec', ...args, '--', process.execPath, childReport], env);
      assert.equal(result.code, 1, result.stdout);
      assert.doesNotMatch(result.stdout, /REPORT /, 'the command never ran');
      assert.match(
        result.stderr,
        new RegExp(`^pg-passwordless: TLS_REQUIRED: sslmode=verify-ca with ${roots}`),
      );
      assert.match(result.stderr, /publicly trusted certificate for any name/);
    }
  });

  it('verify-ca with the server’s CA file: the child verifies with that file, and psql logs in', async () => {
    const env = { ...emulator.env, PGSSLMODE: 'verify-ca' };
    const shown = await runCli(['exec', '--', 'sh', '-c', 'echo "$PGSSLMODE $PGSSLROOTCERT"'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout.trim(), `verify-ca ${emulator.caPath}`);
    const psql = await runCli(['exec', ...psqlCurrentUser], env);
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), 'orders-api');
  });

  it('forwards SIGINT and SIGHUP too', async () => {
    for (const [signal, code] of [
      ['SIGINT', 43],
      ['SIGHUP', 44],
    ] as const) {
      const running = startCli(['exec', '--', process.execPath, childReport], emulator.env);
      await running.waitFor('REPORT ');
      process.kill(running.child.pid as number, signal);
      const result = await running.done;
      assert.match(result.stdout, new RegExp(`got ${signal}`));
      assert.equal(result.code, code, result.stderr);
    }
  });

  it('--token-in-url puts the current token into DATABASE_URL (percent-encoded) and PGPASSWORD, still in no argv', async () => {
    const running = startCli(['exec', '--token-in-url', '--', process.execPath, childReport], emulator.env);
    await running.waitFor('REPORT ');
    const report = readReport(running.stdout());
    assert.equal(report.urlPasswordIsToken, true);
    assert.equal(report.pgpasswordIsToken, true);
    assert.equal(report.processesWithToken, 0);
    process.kill(running.child.pid as number, 'SIGTERM');
    assert.equal((await running.done).code, 42);
  });

  it('node-postgres logs in from DATABASE_URL alone: it reads the password file', async () => {
    const script =
      "import pg from 'pg'; const client = new pg.Client({ connectionString: process.env.DATABASE_URL }); " +
      "await client.connect(); console.log((await client.query('select current_user as role')).rows[0].role); await client.end();";
    const result = await runCli(
      ['exec', '--', process.execPath, '--input-type=module', '-e', script],
      emulator.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
  });

  it('parses options up to "--" and explains mistakes', async () => {
    const parseExecArgs = (args: string[]) =>
      parseCommandArgs(args, { usage: 'pg-passwordless exec', ...execCommand });
    assert.deepEqual(parseExecArgs(['--url', 'postgresql://a@b/c', '--', 'psql', '--', 'x']).command, [
      'psql',
      '--',
      'x',
    ]);
    assert.deepEqual(parseExecArgs(['psql', '-c', 'select 1']).command, ['psql', '-c', 'select 1']);
    assert.throws(() => parseExecArgs(['--url']), { code: 'CONFIG_INVALID' });
    const none = await runCli(['exec', '--'], emulator.env);
    assert.match(none.stderr, /CONFIG_INVALID: No command to run/);
    const unknown = await runCli(['exec', '--nope', '--', 'true'], emulator.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^pg-passwordless: CONFIG_INVALID: Unknown option "--nope" for "exec"/);
    const help = await runCli(['exec', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pg-passwordless exec/);
  });
});

for (const [cloud, role] of [
  ['aws', 'app_user'],
  ['gcp', undefined],
] as const satisfies ReadonlyArray<readonly [CloudName, string | undefined]>) {
  describe(`pg-passwordless token and exec (${cloud})`, () => {
    let emulator: Emulator;
    let expectedRole: string;
    before(async () => {
      emulator = await startEmulator({ cloud });
      expectedRole = role ?? (emulator.env.PGUSER as string); // GCP: the service account's user
    });
    after(() => emulator?.stop());

    it('token: psql logs in with it', async () => {
      const token = await runCli(['token'], emulator.env);
      assert.equal(token.code, 0, token.stderr);
      const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
        ...emulator.env,
        PGPASSWORD: token.stdout.trim(),
      });
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), expectedRole);
      const json = await runCli(['token', '--json'], emulator.env);
      assert.equal((JSON.parse(json.stdout) as { user: string }).user, expectedRole);
    });

    it('exec: psql prints the role', async () => {
      const result = await runCli(['exec', ...psqlCurrentUser], emulator.env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), expectedRole);
    });

    it('exec with verify-ca and no CA named: only the cloud’s own private CA may stand in', async () => {
      const { PGSSLROOTCERT, ...noCaNamed } = emulator.env;
      const env = { ...noCaNamed, PGSSLMODE: 'verify-ca' };
      const result = await runCli(
        ['exec', '--', 'sh', '-c', 'echo "$PGSSLMODE"; sha256sum < "$PGSSLROOTCERT"'],
        env,
      );
      if (cloud === 'aws') {
        // The RDS roots are Amazon's private CAs: the child verifies with exactly that bundle.
        assert.equal(result.code, 0, result.stderr);
        const bundle = `${(await loadRdsCaBundle()).join('\n')}\n`;
        const [mode, digest] = result.stdout.trim().split('\n');
        assert.equal(mode, 'verify-ca');
        assert.equal(digest?.split(' ')[0], createHash('sha256').update(bundle).digest('hex'));
      } else {
        // Cloud SQL's per-instance CA is a file the user downloads: nothing to stand in for it.
        assert.equal(result.code, 1, result.stdout);
        assert.equal(result.stdout, '', 'the command never ran');
        assert.match(result.stderr, /TLS_REQUIRED: sslmode=verify-ca with the system trust store/);
      }
    });
  });
}
