// A libpq key/value connection string (`host=... port=... dbname=... user=... sslmode=...`, as cloud
// portals show it) in DATABASE_URL or as the URL argument: every command logs in with it, as a user
// runs the bin against the emulator, and none prints the password it holds, whether the string is
// well formed or not. Only the key/value string names the target: no PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGSSLMODE, PGSSLROOTCERT or NODE_EXTRA_CA_CERTS reaches the commands.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import type { DoctorReport } from '../../src/doctor/report.ts';
import { type CliResult, runCli, runProgram, startCli } from './run-cli.ts';

/** The password a portal's string carries; it must never be printed. */
const SECRET = 'S3cretFromThePortal';
/** What a token looks like (an Entra JWT). */
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\./;

function assertQuiet(result: CliResult, what: string): void {
  const printed = `${result.stdout}\n${result.stderr}`;
  assert.ok(!printed.includes(SECRET), `${what} printed the password:\n${printed}`);
  assert.doesNotMatch(printed, TOKEN_LIKE, `${what} printed a token`);
}

describe('a key/value connection string (Azure emulator)', () => {
  let emulator: Emulator;
  let folder: string;
  /** The identity side of the emulator's environment, without any PG* variable. */
  let identity: Record<string, string>;
  /** host, port, dbname, user, verify-full and the CA in a folder whose name has blanks (quoted). */
  let target: string;
  /** `target` as the portal gives it: with a password, quoted, with an escaped quote and a blank. */
  let withPassword: string;
  let host: string;
  let port: string;
  let caPath: string;

  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    folder = mkdtempSync(join(tmpdir(), 'key value url '));
    caPath = join(folder, 'ca.pem');
    copyFileSync(emulator.caPath, caPath);
    const {
      PGHOST,
      PGPORT,
      PGUSER,
      PGDATABASE,
      PGSSLMODE,
      PGSSLROOTCERT,
      DATABASE_URL,
      NODE_EXTRA_CA_CERTS,
      ...rest
    } = emulator.env;
    identity = rest as Record<string, string>;
    host = PGHOST as string;
    port = PGPORT as string;
    target = `host=${host} port = ${port} dbname='${PGDATABASE}' user=${PGUSER} sslmode=verify-full sslrootcert='${caPath}'`;
    withPassword = `${target} password='it\\'s ${SECRET}'`;
  });
  after(async () => {
    await emulator?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('token: DATABASE_URL in key/value form gives a token that psql logs in with', async () => {
    const result = await runCli(['token'], { ...identity, DATABASE_URL: withPassword });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stderr.includes(SECRET));
    const token = result.stdout.trim();
    assert.ok(token.length > 100, 'a JWT');
    // psql reads the same key/value string itself (without the portal's password: the token is it).
    const psql = await runProgram('psql', ['-X', '-At', '-d', target, '-c', 'select current_user'], {
      PGPASSWORD: token,
    });
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), 'orders-api');
  });

  it('token --url: the key/value string as the argument becomes a libpq URL that node-postgres logs in with', async () => {
    const result = await runCli(['token', '--url', withPassword], identity);
    assert.equal(result.code, 0, result.stderr);
    const url = new URL(result.stdout.trim());
    assert.equal(url.hostname, host);
    assert.equal(url.port, port);
    assert.equal(url.pathname, '/postgres');
    assert.equal(url.searchParams.get('sslrootcert'), caPath);
    assert.notEqual(decodeURIComponent(url.password), `it's ${SECRET}`, 'the token, not the portal password');
    const client = new pg.Client({ connectionString: result.stdout.trim() });
    await client.connect();
    try {
      assert.equal((await client.query('select current_user as role')).rows[0].role, 'orders-api');
    } finally {
      await client.end();
    }
  });

  it('exec --url and exec with DATABASE_URL: psql logs in', async () => {
    const sql = ['--', 'psql', '-X', '-At', '-c', 'select current_user'];
    for (const [args, env] of [
      [['exec', '--url', withPassword, ...sql], identity],
      [['exec', ...sql], { ...identity, DATABASE_URL: withPassword }],
    ] as const) {
      const result = await runCli([...args], env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'orders-api');
      assertQuiet(result, args.join(' '));
    }
  });

  it('doctor and doctor --json: every step passes, and the target is the key/value string’s', async () => {
    const env = { ...identity, DATABASE_URL: withPassword };
    const text = await runCli(['doctor'], env);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `target host ${host.replace(/\./g, '\\.')}, port ${port}, database postgres, user orders-api`,
      ),
    );
    assertQuiet(text, 'doctor');
    const json = await runCli(['doctor', '--json'], env);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout) as DoctorReport;
    assert.equal(report.ok, true);
    const { gate, plugins, caSource, trustStore, userFrom, ...target } =
      report.steps.find((step) => step.step === 'settings')?.data ?? {};
    assert.equal(gate, true);
    assert.deepEqual(plugins, ['azure']);
    assert.equal(caSource, 'sslrootcert', 'the CA named in the key/value string');
    assert.match(String(trustStore), /^sslrootcert=/);
    assert.equal(userFrom, 'the connection string');
    assert.deepEqual(target, {
      host,
      port: Number(port),
      database: 'postgres',
      user: 'orders-api',
      sslmode: 'verify-full',
    });
    assertQuiet(json, 'doctor --json');
  });

  it('proxy: the key/value string as the argument; psql logs in through the printed URL', async () => {
    const proxy = startCli(['proxy', withPassword, '--listen', '127.0.0.1:0'], identity, 60_000);
    await proxy.waitFor('connect with: ');
    const url = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
    const psql = await runProgram('psql', ['-X', '-At', '-d', url, '-c', 'select current_user'], {});
    proxy.child.kill('SIGTERM');
    const stopped = await proxy.done;
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), 'orders-api');
    assert.equal(stopped.code, 0, stopped.stderr);
    assertQuiet(stopped, 'proxy');
  });

  describe('a malformed key/value string with a password: URL_INVALID, and the password is not printed', () => {
    const malformed = (kind: string) =>
      ({
        'an unclosed quote': `host=${host} port=${port} user=orders-api password='${SECRET} sslmode=verify-full`,
        'a password with a blank, unquoted': `host=${host} port=${port} user=orders-api password=two ${SECRET}`,
        'an empty host= before the password': `host= password=${SECRET} port=${port} user=orders-api`,
      })[kind] as string;
    const kinds = [
      'an unclosed quote',
      'a password with a blank, unquoted',
      'an empty host= before the password',
    ];
    const commands: Array<[string, (text: string) => [string[], Record<string, string>]]> = [
      ['token', (text) => [['token'], { ...identity, DATABASE_URL: text }]],
      ['token URL', (text) => [['token', text], identity]],
      ['proxy', (text) => [['proxy', '--listen', '127.0.0.1:0'], { ...identity, DATABASE_URL: text }]],
      ['doctor', (text) => [['doctor'], { ...identity, DATABASE_URL: text }]],
      ['doctor --json', (text) => [['doctor', '--json'], { ...identity, DATABASE_URL: text }]],
      ['exec --url', (text) => [['exec', '--url', text, '--', 'psql', '-c', 'select 1'], identity]],
    ];
    for (const [name, invocation] of commands) {
      it(name, async () => {
        for (const kind of kinds) {
          const [args, env] = invocation(malformed(kind));
          const result = await runCli(args, env);
          assert.equal(result.code, 1, `${kind}: ${result.stdout}${result.stderr}`);
          assertQuiet(result, `${name} with ${kind}`);
          if (name === 'doctor --json') {
            const settings = (JSON.parse(result.stdout) as DoctorReport).steps[0];
            assert.equal(settings?.code, 'URL_INVALID', kind);
            assert.match(
              settings?.detail ?? '',
              /neither a postgresql:\/\/ URL nor valid keyword=value pairs/,
            );
          } else {
            assert.match(
              `${result.stdout}${result.stderr}`,
              /URL_INVALID: .*neither a postgresql:\/\/ URL nor valid keyword=value pairs/,
              kind,
            );
          }
        }
      });
    }
  });

  describe('a key/value string the shell split into words: the words are not printed', () => {
    it('token and proxy refuse a second connection string without showing it', async () => {
      const token = await runCli(['token', `host=${host}`, `password=${SECRET}`], identity);
      assert.equal(token.code, 1, token.stderr);
      assert.match(token.stderr, /CONFIG_INVALID: "token" takes one connection string/);
      assert.match(token.stderr, /Quote a key\/value connection string as one argument/);
      assertQuiet(token, 'token');
      // proxy takes several targets, each a URL: the split words are refused by their place.
      const proxy = await runCli(['proxy', `host=${host}`, `password=${SECRET}`], identity);
      assert.equal(proxy.code, 1, proxy.stderr);
      assert.match(
        proxy.stderr,
        /CONFIG_INVALID: "proxy" takes several targets as postgresql:\/\/ URLs, and argument 1 of 2 is not one \(not shown/,
      );
      assert.match(proxy.stderr, /a key\/value string goes alone, quoted as one argument/);
      assertQuiet(proxy, 'proxy');
    });

    it('an unknown option with a URL in it is shown up to its "="', async () => {
      const option = `--uri=postgresql://orders-api:${SECRET}@${host}/postgres`;
      for (const args of [
        ['token', option],
        ['proxy', option],
        ['doctor', option],
        ['exec', option, '--', 'true'],
      ]) {
        const result = await runCli(args, identity);
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, /CONFIG_INVALID: .*unknown (argument|option) "--uri=…"/i);
        assertQuiet(result, args[0] as string);
      }
    });

    it('exec: a password= word taken for the command is not shown when it cannot run', async () => {
      const result = await runCli(['exec', '--url', target, `password=${SECRET}`, '--', 'psql'], identity);
      assert.equal(result.code, 127, result.stderr);
      assert.match(result.stderr, /cannot run "password=…"/);
      assertQuiet(result, 'exec');
    });
  });
});
