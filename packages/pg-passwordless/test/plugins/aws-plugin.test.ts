import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Signer } from '@aws-sdk/rds-signer';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { setDatabaseConnectionParams } from '../../src/index.ts';
import { parseSigningHost, regionOfRdsHost } from '../../src/plugins/aws/region.ts';
import { gatewayClientConfig, tryLogin } from '../helpers/pg-client.ts';
import { runScenario } from '../helpers/run-scenario.ts';

describe('aws helpers', () => {
  it('reads the region from RDS, Aurora and RDS Proxy endpoint names', () => {
    assert.equal(regionOfRdsHost('orders.c9akciq32.eu-west-1.rds.amazonaws.com'), 'eu-west-1');
    assert.equal(
      regionOfRdsHost('orders.cluster-ro-c9akciq32.us-gov-west-1.rds.amazonaws.com'),
      'us-gov-west-1',
    );
    assert.equal(
      regionOfRdsHost('orders.proxy-c9akciq32.ap-southeast-2.rds.amazonaws.com'),
      'ap-southeast-2',
    );
    assert.equal(regionOfRdsHost('orders.c9akciq32.cn-north-1.rds.amazonaws.com.cn'), 'cn-north-1');
    assert.equal(regionOfRdsHost('db.internal.example.com'), undefined);
    assert.deepEqual(parseSigningHost('orders.proxy-x.us-east-1.rds.amazonaws.com:5432', 6432), {
      host: 'orders.proxy-x.us-east-1.rds.amazonaws.com',
      port: 5432,
    });
    assert.deepEqual(parseSigningHost('orders.x.us-east-1.rds.amazonaws.com', 6432), {
      host: 'orders.x.us-east-1.rds.amazonaws.com',
      port: 6432,
    });
  });

  it('refuses a URL without a user, saying how to create one', async () => {
    await assert.rejects(
      setDatabaseConnectionParams('postgresql://orders.x.us-east-1.rds.amazonaws.com/orders', {
        aws: { enabled: true },
        env: {},
      }),
      { code: 'USER_MISSING', message: /GRANT rds_iam TO/ },
    );
  });

  it('trusts the shipped RDS CA bundle by default, and an explicit CA instead when given', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const url = 'postgresql://app_user@orders.x.us-east-1.rds.amazonaws.com/orders';
    const params = await setDatabaseConnectionParams(url, { aws: { enabled: true, credentials }, env: {} });
    const ca = (params.ssl as { ca: string[] }).ca;
    assert.ok(Array.isArray(ca) && ca.length >= 3 && ca.every((pem) => pem.includes('BEGIN CERTIFICATE')));
    assert.equal((params.ssl as { rejectUnauthorized: boolean }).rejectUnauthorized, true);
    const own = await setDatabaseConnectionParams(url, {
      aws: { enabled: true, credentials },
      tls: { ca: 'my-ca' },
      env: {},
    });
    assert.equal((own.ssl as { ca: string }).ca, 'my-ca');
  });
});

describe('aws plugin with the real SDK against the emulator', () => {
  let emulator: Emulator;
  let nowMs = Date.now();

  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsUsers: ['app_user', 'report_user'], now: () => nowMs });
  });
  after(() => emulator?.stop());

  /** Signs a token in this process with the emulator's current credentials, as the SDK would. */
  const sign = (username: string, port = emulator.gateway.port) =>
    new Signer({
      hostname: emulator.gateway.host,
      port,
      username,
      region: 'us-east-1',
      credentials: emulator.aws?.currentCredentials(),
    }).getAuthToken();

  it('50 concurrent cold connections: one signing and one credentials request', async () => {
    const before = emulator.counters().tokensIssued;
    const result = await runScenario('cloud.ts', ['pool'], { ...emulator.env, SCENARIO_CONNECTIONS: '50' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.role, 'app_user');
    assert.equal(result.output.connections, 50);
    assert.equal(result.output.signings, 1);
    assert.equal(emulator.counters().tokensIssued - before, 1);
  });

  it('psql connects with a token the SDK produced', async () => {
    const result = await runScenario('cloud.ts', ['psql'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.status, 0, String(result.output.stderr));
    assert.equal(result.output.stdout, 'app_user');
  });

  it('accepts a token signed by the real Signer, and refuses a wrong user, a tampered, a foreign-endpoint and an expired token', async () => {
    const good = await tryLogin(gatewayClientConfig(emulator, 'app_user', await sign('app_user')));
    assert.equal(good.error, undefined);
    await good.client?.end();

    const pam = (user: string) => new RegExp(`^PAM authentication failed for user "${user}"$`);
    const wrongUser = await tryLogin(gatewayClientConfig(emulator, 'report_user', await sign('app_user')));
    assert.match(wrongUser.error?.message ?? '', pam('report_user'));

    const token = await sign('app_user');
    const tampered = token.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_, digit: string) => `X-Amz-Signature=${digit === '0' ? '1' : '0'}`,
    );
    assert.match(
      (await tryLogin(gatewayClientConfig(emulator, 'app_user', tampered))).error?.message ?? '',
      pam('app_user'),
    );

    const otherEndpoint = await sign('app_user', emulator.gateway.port + 1);
    assert.match(
      (await tryLogin(gatewayClientConfig(emulator, 'app_user', otherEndpoint))).error?.message ?? '',
      pam('app_user'),
    );

    const aging = await sign('app_user');
    nowMs += 16 * 60_000;
    try {
      assert.match(
        (await tryLogin(gatewayClientConfig(emulator, 'app_user', aging))).error?.message ?? '',
        pam('app_user'),
      );
    } finally {
      nowMs -= 16 * 60_000;
    }
  });

  it('refuses a plain password for an IAM user', async () => {
    const { error } = await tryLogin(gatewayClientConfig(emulator, 'app_user', 'hunter2'));
    assert.match(error?.message ?? '', /PAM authentication failed for user "app_user"/);
  });
});
