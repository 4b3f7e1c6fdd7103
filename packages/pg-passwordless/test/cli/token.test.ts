// `pg-passwordless token`: the bin as a user runs it, against the emulator. Tokens reach psql only
// through its environment (PGPASSWORD), never its argument list; assertion messages show stderr only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { libpqUrl } from '../../src/cli/connection.ts';
import { escapePgpassField, pgpassLine } from '../../src/cli/password-file.ts';
import { refusesTerminal } from '../../src/cli/token-command.ts';
import { bin, hasProgram, runCli, runProgram } from './run-cli.ts';

describe('pg-passwordless token (Azure)', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(() => emulator?.stop());

  it('prints one token, and psql logs in with it as PGPASSWORD', async () => {
    const result = await runCli(['token'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(lines.length, 2, 'one line, newline-terminated');
    assert.equal(lines[1], '');
    const token = lines[0] as string;
    assert.ok(token.length > 100, 'a JWT');
    const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
      ...emulator.env,
      PGPASSWORD: token,
    });
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), 'orders-api');
  });

  it('takes the target as an argument too', async () => {
    const { DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE, ...rest } = emulator.env;
    const result = await runCli(['token', DATABASE_URL as string], rest);
    assert.equal(result.code, 0, result.stderr);
    assert.ok((result.stdout.trim() as string).length > 100);
  });

  it('--json prints { user, expiresAt, token }', async () => {
    const result = await runCli(['token', '--json'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { user: string; expiresAt: string; token: string };
    assert.deepEqual(Object.keys(printed), ['user', 'expiresAt', 'token']);
    assert.equal(printed.user, 'orders-api');
    const expiresAtMs = Date.parse(printed.expiresAt);
    assert.ok(expiresAtMs > Date.now() + 60_000, 'an ISO date in the future');
    assert.ok(printed.token.length > 100);
  });

  it('--url prints a libpq URL with the token as password, verify-full and the CA file', async () => {
    const result = await runCli(['token', '--url'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    const url = new URL(result.stdout.trim());
    assert.equal(url.protocol, 'postgresql:');
    assert.equal(url.hostname, emulator.env.PGHOST);
    assert.equal(url.port, emulator.env.PGPORT);
    assert.equal(url.pathname, `/${emulator.env.PGDATABASE}`);
    assert.equal(decodeURIComponent(url.username), 'orders-api');
    assert.ok(decodeURIComponent(url.password).length > 100, 'the token, percent-encoded');
    assert.equal(url.searchParams.get('sslmode'), 'verify-full');
    assert.equal(url.searchParams.get('sslrootcert'), emulator.caPath);
    // node-postgres reads the same URL (sslmode, sslrootcert and all): the login works.
    const client = new pg.Client({ connectionString: result.stdout.trim() });
    await client.connect();
    try {
      assert.equal((await client.query('select current_user as role')).rows[0].role, 'orders-api');
    } finally {
      await client.end();
    }
  });

  it('refuses to print to a terminal unless --force (a pseudo-terminal through script)', async (t) => {
    if (!hasProgram('script')) {
      t.skip('script (util-linux) is not installed; refusesTerminal is tested below');
      return;
    }
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} token`;
    const refused = await runProgram('script', ['-qec', command, '/dev/null'], emulator.env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /pg-passwordless: CONFIG_INVALID: Refusing to print a token to a terminal/);
    assert.doesNotMatch(refused.stdout, /eyJ/, 'no JWT on the terminal');
    const forced = await runProgram('script', ['-qec', `${command} --force`, '/dev/null'], emulator.env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\s*$/, 'the token, with --force');
  });

  it('decides on the terminal from stdout.isTTY and --force', () => {
    assert.equal(refusesTerminal({ isTTY: true }, false), true);
    assert.equal(refusesTerminal({ isTTY: true }, true), false);
    assert.equal(refusesTerminal({ isTTY: false }, false), false);
    assert.equal(refusesTerminal({}, false), false);
  });

  it('explains bad arguments and a missing plugin with a code, without a stack', async () => {
    const both = await runCli(['token', '--json', '--url'], emulator.env);
    assert.match(both.stderr, /^pg-passwordless: CONFIG_INVALID: --json and --url cannot be used together/);
    const oracle = await runCli(['token', '--cloud', 'oracle'], emulator.env);
    assert.match(
      oracle.stderr,
      /^pg-passwordless: CONFIG_INVALID: --cloud must be one of azure, aws, gcp, not "oracle"/,
    );
    const unknown = await runCli(['token', '--nope'], emulator.env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^pg-passwordless: CONFIG_INVALID: Unknown option "--nope" for "token"/);
    const { PG_PASSWORDLESS_ENABLED, ...gateOff } = emulator.env;
    const off = await runCli(['token'], gateOff);
    assert.equal(off.code, 1);
    assert.equal(off.stdout, '');
    assert.match(off.stderr, /CONFIG_INVALID: No plugin is enabled[\s\S]*--cloud azure\|aws\|gcp/);
    assert.doesNotMatch(off.stderr, /\n\s+at /, 'no stack trace');
    // --cloud switches the plugin on without the gate.
    const cloud = await runCli(['token', '--cloud', 'azure'], gateOff);
    assert.equal(cloud.code, 0, cloud.stderr);
  });

  it('has --help', async () => {
    const help = await runCli(['token', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pg-passwordless token/);
    const main = await runCli(['--help'], {});
    assert.match(main.stdout, /token {7}print a current token/);
  });
});

describe('CLI pieces', () => {
  it('pgpass lines escape ":" and "\\" and keep "*" a wildcard', () => {
    assert.equal(escapePgpassField('a:b\\c'), 'a\\:b\\\\c');
    assert.equal(
      pgpassLine({ host: '::1', port: 5432, database: '*', user: 'orders@shop.iam', password: 'x:y' }),
      '\\:\\:1:5432:*:orders@shop.iam:x\\:y',
    );
  });

  it('libpq URLs percent-encode the role and the password', () => {
    const url = libpqUrl({
      host: 'db.example.com',
      port: 5432,
      database: 'orders',
      user: 'orders@shop.iam',
      password: 'a/b?c&d=e:f@g',
      sslmode: 'verify-full',
    });
    assert.equal(
      url,
      'postgresql://orders%40shop.iam:a%2Fb%3Fc%26d%3De%3Af%40g@db.example.com:5432/orders?sslmode=verify-full',
    );
    assert.equal(decodeURIComponent(new URL(url).password), 'a/b?c&d=e:f@g');
  });
});
