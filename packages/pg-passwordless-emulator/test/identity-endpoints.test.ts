import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { runScenario } from '../../pg-passwordless/test/helpers/run-scenario.ts';
import { type Emulator, startEmulator } from '../src/index.ts';

const RESOURCE = 'https://ossrdbms-aad.database.windows.net';

describe('emulator identity endpoints', () => {
  let emulator: Emulator;
  let appService: string;
  let header: Record<string, string>;

  before(async () => {
    emulator = await startEmulator({
      backend: 'pglite',
      tokenLifetimeSeconds: 900,
      identities: [
        { name: 'orders-api' },
        { name: 'billing-worker', kind: 'user', clientId: '11111111-2222-4333-8444-555555555555' },
      ],
    });
    appService = `${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${RESOURCE}`;
    header = { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER as string };
  });
  after(() => emulator?.stop());

  it('answers the App Service form with the body the SDK accepts and a verifiable RS256 JWT', async () => {
    const response = await fetch(appService, { headers: header });
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'client_id',
      'expires_in',
      'expires_on',
      'resource',
      'token_type',
    ]);
    assert.equal(body.token_type, 'Bearer');
    assert.match(body.expires_on as string, /^\d+$/);
    const jwks = (await (await fetch(`${emulator.identityUrl}/.well-known/jwks.json`)).json()) as {
      keys: [];
    };
    const { payload, protectedHeader } = await jwtVerify(
      body.access_token as string,
      createLocalJWKSet(jwks),
      { audience: RESOURCE },
    );
    assert.equal(protectedHeader.alg, 'RS256');
    for (const claim of ['iss', 'tid', 'oid', 'appid', 'idtyp', 'xms_mirid', 'iat', 'nbf', 'exp'])
      assert.ok(claim in payload, claim);
    assert.equal(payload.idtyp, 'app');
    assert.equal((payload.exp as number) - (payload.iat as number), 900);
    assert.match(payload.xms_mirid as string, /\/providers\/Microsoft\.Web\/sites\/orders-api$/);
  });

  it('selects user-assigned identities by client_id, mi_res_id or object_id, and refuses unknown ones', async () => {
    const billing = emulator.identities()[1];
    assert.ok(billing);
    for (const query of [
      `client_id=${billing.clientId}`,
      `mi_res_id=${encodeURIComponent(billing.resourceId)}`,
      `object_id=${billing.objectId}`,
    ]) {
      const body = (await (await fetch(`${appService}&${query}`, { headers: header })).json()) as {
        client_id: string;
      };
      assert.equal(body.client_id, billing.clientId, query);
    }
    const unknown = await fetch(`${appService}&client_id=00000000-0000-4000-8000-000000000000`, {
      headers: header,
    });
    assert.equal(unknown.status, 400);
    assert.match(((await unknown.json()) as { message: string }).message, /No Managed Identity found/);
  });

  it('refuses a missing or wrong X-IDENTITY-HEADER', async () => {
    assert.equal((await fetch(appService)).status, 401);
    assert.equal((await fetch(appService, { headers: { 'X-IDENTITY-HEADER': 'guess' } })).status, 401);
  });

  it('answers the IMDS form only with Metadata: true', async () => {
    const imds = `${emulator.identityUrl}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=${RESOURCE}`;
    assert.equal((await fetch(imds)).status, 400);
    const response = await fetch(imds, { headers: { Metadata: 'true' } });
    assert.equal(response.status, 200);
    const unknown = await fetch(`${imds}&client_id=00000000-0000-4000-8000-000000000000`, {
      headers: { Metadata: 'true' },
    });
    assert.deepEqual(await unknown.json(), {
      error: 'invalid_request',
      error_description: 'Identity not found',
    });
  });

  it('serves the real SDK through the IMDS form (AZURE_POD_IDENTITY_AUTHORITY_HOST)', async () => {
    const { IDENTITY_ENDPOINT: _endpoint, IDENTITY_HEADER: _header, ...rest } = emulator.env;
    const result = await runScenario('azure.ts', ['password'], {
      ...rest,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: emulator.identityUrl,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.aud, RESOURCE);
  });

  it('injects faults: throttling with Retry-After, server errors, dropped connections, latency, outages', async () => {
    const before = emulator.counters().faultsInjected;
    emulator.setFaults({ status: 429, retryAfterSeconds: 7, count: 1 });
    const throttled = await fetch(appService, { headers: header });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '7');
    assert.equal(
      (await fetch(appService, { headers: header })).status,
      200,
      'count: 1 affects one request only',
    );

    emulator.setFaults({ status: 503 });
    assert.equal((await fetch(appService, { headers: header })).status, 503);
    emulator.setFaults({ drop: true, count: 1 });
    await assert.rejects(fetch(appService, { headers: header }));
    emulator.setFaults({ latencyMs: 150 });
    const started = Date.now();
    assert.equal((await fetch(appService, { headers: header })).status, 200);
    assert.ok(Date.now() - started >= 140, 'latency added');
    emulator.setFaults({ outage: { fromMs: Date.now() - 1_000, untilMs: Date.now() + 60_000 } });
    assert.equal((await fetch(appService, { headers: header })).status, 503);
    emulator.clearFaults();
    assert.equal((await fetch(appService, { headers: header })).status, 200);
    assert.equal(emulator.counters().faultsInjected - before, 4);
  });

  it('lets another process change faults and read counters over HTTP, with the emulator secret', async () => {
    const control = `${emulator.identityUrl}/emulator/faults`;
    const secret = { 'X-Emulator-Secret': emulator.env.PG_PASSWORDLESS_EMULATOR_SECRET as string };
    assert.equal((await fetch(control, { method: 'POST', body: '{"status":500}' })).status, 401);
    assert.equal(
      (await fetch(control, { method: 'POST', headers: header, body: '{"status":500}' })).status,
      401,
    );
    const set = await fetch(control, {
      method: 'POST',
      headers: secret,
      body: JSON.stringify({ status: 500, count: 1 }),
    });
    assert.equal(set.status, 200);
    assert.equal((await fetch(appService, { headers: header })).status, 500);
    const counters = (await (
      await fetch(`${emulator.identityUrl}/emulator/counters`, { headers: secret })
    ).json()) as { tokensIssued: number };
    assert.ok(counters.tokensIssued > 0);
  });
});
