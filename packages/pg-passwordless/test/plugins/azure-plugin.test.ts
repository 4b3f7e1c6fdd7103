import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../helpers/run-scenario.ts';

const RESOURCE = 'https://ossrdbms-aad.database.windows.net';

describe('azure plugin with the real @azure/identity against the emulator', () => {
  let emulator: Emulator;
  let userAssignedClientId: string;

  before(async () => {
    emulator = await startEmulator({
      identities: [
        { name: 'orders-api', kind: 'system' },
        { name: 'billing-worker', kind: 'user' },
      ],
    });
    userAssignedClientId = emulator.identities()[1]?.clientId as string;
  });
  after(() => emulator?.stop());

  const tokenRequestsSince = (start: number) =>
    emulator
      .identityRequests()
      .slice(start)
      .filter((request) => request.path === '/msi/token');

  it('disabled: returns {} and asks the identity endpoint nothing', async () => {
    const start = emulator.identityRequests().length;
    const { PG_PASSWORDLESS_AZURE_ENABLED: _, ...env } = emulator.env;
    const result = await runScenario('azure.ts', ['host'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output.keys, []);
    assert.equal(tokenRequestsSince(start).length, 0);
  });

  it('enabled: gives a verifying ssl config and a callable password', async () => {
    const result = await runScenario('azure.ts', ['host'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.ok((result.output.keys as string[]).includes('password'));
    assert.ok((result.output.keys as string[]).includes('ssl'));
    assert.equal(result.output.passwordIsFunction, true);
    assert.equal(result.output.rejectUnauthorized, true);
    assert.equal(result.output.hasCa, true, 'PGSSLROOTCERT is trusted');
    assert.equal(result.output.user, 'orders-api');
  });

  it('the password returns a token for the exact scope, fetched once for many calls', async () => {
    const start = emulator.identityRequests().length;
    const result = await runScenario('azure.ts', ['password'], { ...emulator.env, SCENARIO_CALLS: '20' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.aud, RESOURCE);
    assert.equal(result.output.distinctTokens, 1);
    const requests = tokenRequestsSince(start);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.query.resource, RESOURCE);
    assert.equal(requests[0]?.query['api-version'], '2019-08-01');
    assert.equal(requests[0]?.query.client_id, undefined, 'system-assigned: no client id');
  });

  it('the client id of a user-assigned identity reaches the endpoint, once', async () => {
    const start = emulator.identityRequests().length;
    const env = {
      ...emulator.env,
      PG_PASSWORDLESS_AZURE_CLIENT_ID: userAssignedClientId,
      SCENARIO_CALLS: '5',
      SCENARIO_USER: 'billing-worker',
    };
    const result = await runScenario('azure.ts', ['password'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.appid, userAssignedClientId);
    const requests = tokenRequestsSince(start);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.query.client_id, userAssignedClientId);
  });

  it('derives the role from the managed identity token when the URL names no user', async () => {
    const result = await runScenario('azure.ts', ['no-user'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.user, 'orders-api');
  });

  it('a pg Pool with 20 concurrent cold connections logs in through the gateway with one token request', async () => {
    const start = emulator.identityRequests().length;
    const result = await runScenario('azure.ts', ['pool'], { ...emulator.env, SCENARIO_CONNECTIONS: '20' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.user, 'orders-api');
    assert.equal(result.output.connections, 20);
    assert.equal(tokenRequestsSince(start).length, 1);
  });
});
