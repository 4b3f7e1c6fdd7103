import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEmulatorArgs } from '../../src/cli/emulator-command.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) env[match[1] as string] = (match[2] as string).replace(/^'(.*)'$/, '$1');
  }
  return env;
}

describe('pg-passwordless emulator (CLI)', () => {
  it('prints the client environment, writes the env file 0600, serves psql, and cleans up on SIGTERM', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cli-test-'));
    const envFile = join(folder, 'emulator.env');
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      main,
      '--',
      'emulator',
      '--backend',
      'pglite',
      '--env-file',
      envFile,
      '--token-lifetime',
      '600',
    ]);
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    while (!stdout.includes('PG_PASSWORDLESS_AZURE_ENABLED')) {
      if (child.exitCode !== null) assert.fail(`the emulator exited: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const env = parseExports(stdout);
    for (const name of [
      'IDENTITY_ENDPOINT',
      'IDENTITY_HEADER',
      'PGHOST',
      'PGPORT',
      'PGDATABASE',
      'PGUSER',
      'PGSSLMODE',
      'PGSSLROOTCERT',
      'NODE_EXTRA_CA_CERTS',
      'PG_PASSWORDLESS_ENABLED',
      'PG_PASSWORDLESS_AZURE_ENABLED',
    ]) {
      assert.ok(env[name], `${name} is printed`);
    }
    assert.equal(env.PGSSLMODE, 'verify-full');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.deepEqual(parseExports(readFileSync(envFile, 'utf8')), env);

    const tokenResponse = await fetch(
      `${env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ossrdbms-aad.database.windows.net`,
      {
        headers: { 'X-IDENTITY-HEADER': env.IDENTITY_HEADER as string },
      },
    );
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
    const psql = spawn('psql', ['-X', '-At', '-c', 'select current_user'], {
      env: { ...process.env, ...env, PGPASSWORD: token },
    });
    let psqlOut = '';
    psql.stdout.on('data', (chunk) => (psqlOut += chunk));
    const psqlCode = await new Promise((resolve) => psql.on('close', resolve));
    assert.equal(psqlCode, 0);
    assert.equal(psqlOut.trim(), 'orders-api');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /stopped/);
    assert.equal(existsSync(envFile), false, 'the env file is removed');
    assert.equal(existsSync(env.PGSSLROOTCERT as string), false, 'the CA folder is removed');
  });

  it('explains bad flags with a stable code', () => {
    assert.throws(() => parseEmulatorArgs(['--backend', 'oracle'], {}), {
      code: 'CONFIG_INVALID',
      message: /--backend must be one of auto, postgres, pglite/,
    });
    assert.throws(() => parseEmulatorArgs(['--token-lifetime', 'soon'], {}), { code: 'CONFIG_INVALID' });
    assert.throws(() => parseEmulatorArgs(['--bogus'], {}), { code: 'CONFIG_INVALID' });
    assert.throws(() => parseEmulatorArgs(['--password-role', 'legacy'], {}), {
      code: 'CONFIG_INVALID',
      message: /PG_PASSWORDLESS_EMULATOR_PASSWORD/,
    });
    assert.equal(parseEmulatorArgs(['--export-file', '/tmp/e.env'], {}).envFile, '/tmp/e.env');
    const aws = parseEmulatorArgs(
      ['--cloud', 'aws', '--aws-user', 'app_user', '--aws-user', 'report_user'],
      {},
    ).options;
    assert.equal(aws.cloud, 'aws');
    assert.deepEqual(aws.awsUsers, ['app_user', 'report_user']);
    assert.throws(() => parseEmulatorArgs(['--cloud', 'oracle'], {}), {
      message: /--cloud must be one of azure, aws, gcp/,
    });
    const { options } = parseEmulatorArgs(
      ['--user-identity', 'worker=abc', '--fail-status', '429', '--retry-after', '3'],
      {},
    );
    assert.deepEqual(options.identities, [
      { name: 'orders-api', kind: 'system' },
      { name: 'worker', kind: 'user', clientId: 'abc' },
    ]);
    assert.equal(options.faults?.status, 429);
  });
});
