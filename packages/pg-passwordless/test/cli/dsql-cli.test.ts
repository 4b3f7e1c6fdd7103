// The commands on Aurora DSQL, as a user runs the bin against the emulator (`--cloud aws --service
// dsql`) with the real @aws-sdk/dsql-signer: `token` for psql, `exec -- psql` as admin and as a role of
// one's own, `proxy` for a client that knows nothing of tokens, and `doctor` naming DSQL and explaining
// its refusals. Tokens reach psql only through its environment; nothing printed may look like a token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import type { DoctorReport, DoctorStep } from '../../src/doctor/report.ts';
import { installAlone, type LoneInstall } from './lone-install.ts';
import { type RunningCli, runCli, runProgram, startCli } from './run-cli.ts';

/** What a token looks like here (a presigned URL). */
const TOKEN_LIKE = /X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;

const psqlCurrentUser = ['psql', '-X', '-At', '-c', 'select current_user'];

describe('pg-passwordless commands on Aurora DSQL', () => {
  let emulator: Emulator;
  let nowOffsetMs = 0;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql', now: () => Date.now() + nowOffsetMs });
    await emulator.adminSql('create role ghost login'); // a role no IAM identity is granted to
  });
  after(() => emulator?.stop());

  const urlOf = (user: string) =>
    `postgresql://${user}@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;

  it('token: a DbConnect token for app_user, a DbConnectAdmin token for admin; psql logs in with it', async () => {
    for (const [user, action] of [
      ['app_user', 'DbConnect'],
      ['admin', 'DbConnectAdmin'],
    ] as const) {
      const result = await runCli(['token', urlOf(user)], emulator.env);
      assert.equal(result.code, 0, result.stderr);
      const token = result.stdout.trim();
      assert.ok(token.startsWith(`${emulator.gateway.host}/?Action=${action}&`), `a ${action} token`);
      const psql = await runProgram(psqlCurrentUser[0] as string, psqlCurrentUser.slice(1), {
        ...emulator.env,
        PGUSER: user,
        PGPASSWORD: token,
      });
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), user);
    }
  });

  it('exec -- psql: as the URL’s role, admin or app_user', async () => {
    for (const user of ['app_user', 'admin']) {
      const result = await runCli(['exec', '--url', urlOf(user), '--', ...psqlCurrentUser], emulator.env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), user);
    }
  });

  it('proxy: psql, knowing only the local URL, reaches DSQL as the proxied role', async () => {
    let proxy: RunningCli | undefined;
    try {
      proxy = startCli(['proxy', urlOf('admin'), '--listen', '127.0.0.1:0'], emulator.env, 60_000);
      await proxy.waitFor('connect with: ');
      const local = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
      const psql = await runProgram('psql', ['-X', '-At', '-d', local, '-c', 'select current_user'], {});
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), 'admin');
    } finally {
      proxy?.child.kill('SIGTERM');
      const result = await proxy?.done;
      assert.doesNotMatch(`${result?.stdout}${result?.stderr}`, TOKEN_LIKE, 'no token printed');
    }
  });

  const doctor = async (url: string) => {
    const run = await runCli(['doctor', url, '--json'], emulator.env);
    assert.doesNotMatch(`${run.stdout}${run.stderr}`, TOKEN_LIKE, 'no token printed');
    const report = JSON.parse(run.stdout) as DoctorReport;
    const step = (name: string) => report.steps.find((entry) => entry.step === name) as DoctorStep;
    return { run, step };
  };

  it('doctor names Aurora DSQL: the service, endpoint and action, and reads the token as a DSQL token', async () => {
    const { run, step } = await doctor(urlOf('admin'));
    assert.equal(run.code, 0, run.stdout);
    assert.equal(step('credential').data?.service, 'Aurora DSQL');
    assert.equal(step('credential').data?.action, 'DbConnectAdmin');
    assert.match(step('credential').detail, /container credentials \(AWS_CONTAINER_CREDENTIALS_FULL_URI\)/);
    assert.match(
      step('token').detail,
      /^an Aurora DSQL DbConnectAdmin token signed for 127\.0\.0\.1, region us-east-1/,
    );
    assert.equal(step('login').status, 'ok');
  });

  it('doctor explains a role no IAM identity is granted to: DSQL_ACCESS_DENIED, with AWS IAM GRANT', async () => {
    const { run, step } = await doctor(urlOf('ghost'));
    assert.equal(run.code, 1);
    const login = step('login');
    assert.equal(login.code, 'DSQL_ACCESS_DENIED');
    assert.match(login.detail, /\(SQLSTATE 08006\): unable to accept connection, access denied$/);
    assert.match(login.hint ?? '', /AWS IAM GRANT "ghost" TO '<IAM role ARN>'/);
  });

  it('doctor explains "Signature expired" from DSQL’s HINT: the server’s clock is ahead (CLOCK_SKEW)', async () => {
    nowOffsetMs = 20 * 60_000;
    try {
      const { run, step } = await doctor(urlOf('app_user'));
      assert.equal(run.code, 1);
      const login = step('login');
      assert.equal(login.code, 'CLOCK_SKEW');
      assert.match(login.detail, /access denied \(HINT: Signature expired: /);
      assert.match(login.hint ?? '', /NTP/);
    } finally {
      nowOffsetMs = 0;
    }
  });
});

describe('Aurora DSQL without @aws-sdk/dsql-signer installed', () => {
  let install: LoneInstall;
  before(() => {
    install = installAlone();
  });
  after(() => install?.remove());

  it('pg-passwordless token for a DSQL endpoint: PEER_MISSING, install @aws-sdk/dsql-signer', async () => {
    const result = await runProgram(
      process.execPath,
      [
        install.bin,
        'token',
        '--cloud',
        'aws',
        'postgresql://admin@abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/postgres',
      ],
      {},
    );
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /^pg-passwordless: PEER_MISSING: .*"@aws-sdk\/dsql-signer", which is not installed\.$/m,
    );
    assert.match(result.stderr, /^Hint: Run: npm install @aws-sdk\/dsql-signer$/m);
    assert.equal(result.stdout, '');
  });
});
