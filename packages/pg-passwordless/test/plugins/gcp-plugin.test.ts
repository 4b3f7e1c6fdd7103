import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { iamDatabaseUserOf } from '../../src/plugins/gcp/role.ts';
import { gatewayClientConfig, tryLogin } from '../helpers/pg-client.ts';
import { runScenario } from '../helpers/run-scenario.ts';

const ORDERS = 'orders@shop-prod.iam.gserviceaccount.com';
const REPORTS = 'reports@shop-prod.iam.gserviceaccount.com';

describe('gcp plugin with the real google-auth-library against the emulator', () => {
  let emulator: Emulator;
  let nowMs = Date.now();

  before(async () => {
    emulator = await startEmulator({
      cloud: 'gcp',
      gcpProjectId: 'shop-prod',
      gcpServiceAccounts: [ORDERS, REPORTS],
      now: () => nowMs,
    });
  });
  after(() => emulator?.stop());

  it('names the user after the service account, without .gserviceaccount.com', () => {
    assert.equal(iamDatabaseUserOf(ORDERS), 'orders@shop-prod.iam');
    assert.equal(iamDatabaseUserOf('dev@example.com'), 'dev@example.com');
    assert.equal(emulator.env.PGUSER, 'orders@shop-prod.iam');
  });

  it('50 concurrent cold connections: one metadata token request; the user comes from the service account', async () => {
    const before = emulator.counters().tokensIssued;
    const result = await runScenario('cloud.ts', ['pool'], {
      ...emulator.env,
      SCENARIO_USER: '',
      SCENARIO_CONNECTIONS: '50',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.user, 'orders@shop-prod.iam', 'derived from the metadata server email');
    assert.equal(result.output.role, 'orders@shop-prod.iam');
    assert.equal(result.output.connections, 50);
    assert.equal(emulator.counters().tokensIssued - before, 1);
    const tokenRequest = emulator.identityRequests().find((request) => request.path.endsWith('/token'));
    assert.equal(tokenRequest?.query.scopes, 'https://www.googleapis.com/auth/sqlservice.login');
  });

  it('psql connects with a token the SDK produced', async () => {
    const result = await runScenario('cloud.ts', ['psql'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.status, 0, String(result.output.stderr));
    assert.equal(result.output.stdout, 'orders@shop-prod.iam');
  });

  it('refuses another account’s token, a tampered, an expired and a wrongly scoped token with Cloud SQL’s text', async () => {
    const gcp = emulator.gcp;
    assert.ok(gcp);
    const failed = (user: string) =>
      new RegExp(
        `^Cloud SQL IAM service account authentication failed for user "${user.replace('.', '\\.')}"$`,
      );
    const good = await tryLogin(
      gatewayClientConfig(emulator, 'orders@shop-prod.iam', gcp.issueToken(ORDERS)),
    );
    assert.equal(good.error, undefined);
    await good.client?.end();

    const wrongUser = await tryLogin(
      gatewayClientConfig(emulator, 'orders@shop-prod.iam', gcp.issueToken(REPORTS)),
    );
    assert.match(wrongUser.error?.message ?? '', failed('orders@shop-prod.iam'));
    const token = gcp.issueToken(ORDERS);
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    assert.match(
      (await tryLogin(gatewayClientConfig(emulator, 'orders@shop-prod.iam', tampered))).error?.message ?? '',
      failed('orders@shop-prod.iam'),
    );
    const cloudPlatformOnly = gcp.issueToken(ORDERS, {
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    });
    assert.match(
      (await tryLogin(gatewayClientConfig(emulator, 'orders@shop-prod.iam', cloudPlatformOnly))).error
        ?.message ?? '',
      failed('orders@shop-prod.iam'),
    );
    const aging = gcp.issueToken(ORDERS, { lifetimeSeconds: 60 });
    nowMs += 2 * 60_000;
    try {
      assert.match(
        (await tryLogin(gatewayClientConfig(emulator, 'orders@shop-prod.iam', aging))).error?.message ?? '',
        failed('orders@shop-prod.iam'),
      );
    } finally {
      nowMs -= 2 * 60_000;
    }
  });

  it('answers only requests with Metadata-Flavor: Google, and always says so', async () => {
    const url = `${emulator.identityUrl}/computeMetadata/v1/project/project-id`;
    const refused = await fetch(url);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('metadata-flavor'), 'Google');
    const answered = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' } });
    assert.equal(await answered.text(), 'shop-prod');
  });
});
