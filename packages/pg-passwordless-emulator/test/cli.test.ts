import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEmulatorArgs } from '../src/cli.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) env[match[1] as string] = (match[2] as string).replace(/^'(.*)'$/, '$1');
  }
  return env;
}

describe('pg-passwordless-emulator (CLI)', () => {
  it('prints the client environment, writes the env file 0600, serves psql, and cleans up on SIGTERM', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cli-test-'));
    const envFile = join(folder, 'emulator.env');
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      main,
      '--backend',
      'pglite',
      '--export-file',
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
    assert.equal(parseEmulatorArgs(['--export-file', '/tmp/e.env'], {}).exportFile, '/tmp/e.env');
    for (const [flag, value] of [
      ['--token-lifetime', '0'],
      ['--token-lifetime', '1.5'],
      ['--port', '70000'],
      ['--fail-status', '42'],
      ['--fail-count', '0'],
    ] as const) {
      assert.throws(() => parseEmulatorArgs([flag, value], {}), {
        code: 'CONFIG_INVALID',
        message: new RegExp(`${flag} must be a whole number`),
      });
    }
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

  it('--detach returns once ready, leaves it running, and stop ends it all; a file it did not create stays', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cli-test-'));
    const exportFile = join(folder, 'emulator.env');
    writeFileSync(exportFile, 'old contents', { mode: 0o644 });
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', main, ...args]);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const started = await run(['--detach', '--backend', 'pglite', '--export-file', exportFile]);
    assert.equal(started.code, 0, started.stderr);
    const env = parseExports(started.stdout);
    assert.deepEqual(
      parseExports(readFileSync(exportFile, 'utf8')),
      env,
      'the file is written whole before the return',
    );
    assert.equal(statSync(exportFile).mode & 0o777, 0o600, 'secrets are written 0600 whatever the old mode');
    const pid = Number(env.PG_PASSWORDLESS_EMULATOR_PID);
    const counters = await fetch(`${env.PG_PASSWORDLESS_EMULATOR_URL}/emulator/counters`, {
      headers: { 'X-Emulator-Secret': env.PG_PASSWORDLESS_EMULATOR_SECRET as string },
    });
    assert.equal(counters.status, 200, 'running in the background, control API at the documented URL');

    const stopped = await run(['stop', '--export-file', exportFile]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`PID ${pid}\\) stopped`));
    assert.throws(() => process.kill(pid, 0), 'the emulator process is gone');
    assert.equal(existsSync(env.PGSSLROOTCERT as string), false, 'its temporary folder is removed');
    assert.equal(existsSync(exportFile), true, 'a file that existed before is not removed');
  });
});
