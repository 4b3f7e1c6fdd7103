import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runScenario } from '../../pg-passwordless/test/helpers/run-scenario.ts';
import { type Emulator, type EmulatorCounters, startEmulator } from '../src/index.ts';

describe('identity counters: only what the SDKs send counts, never the control API', () => {
  let emulator: Emulator;
  let control: string;
  let secret: Record<string, string>;

  before(async () => {
    emulator = await startEmulator({ backend: 'pglite' });
    control = emulator.env.PG_PASSWORDLESS_EMULATOR_URL as string;
    secret = { 'X-Emulator-Secret': emulator.env.PG_PASSWORDLESS_EMULATOR_SECRET as string };
  });
  after(() => emulator?.stop());

  /** The counters as another process reads them: GET /emulator/counters. */
  async function readCounters(): Promise<EmulatorCounters> {
    const response = await fetch(`${control}/emulator/counters`, { headers: secret });
    assert.equal(response.status, 200);
    return (await response.json()) as EmulatorCounters;
  }

  it('reading the counters, setting faults and refused control calls leave them as they were', async () => {
    const before = await readCounters();
    const logBefore = emulator.identityRequests().length;
    for (let read = 0; read < 3; read++) assert.deepEqual(await readCounters(), before);
    const answers = [
      await fetch(`${control}/emulator/faults`, { method: 'POST', headers: secret, body: '{"latencyMs":0}' }),
      await fetch(`${control}/emulator/faults`, { method: 'POST', headers: secret, body: '{}' }),
      await fetch(`${control}/emulator/faults`, { method: 'POST', headers: secret, body: 'not json' }),
      await fetch(`${control}/emulator/counters`),
      await fetch(`${control}/emulator/faults`, { headers: secret }),
    ];
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 400, 401, 404],
    );
    const after = await readCounters();
    assert.equal(after.identityRequests, before.identityRequests);
    assert.equal(emulator.counters().identityRequests, before.identityRequests);
    assert.equal(after.tokensIssued, before.tokensIssued);
    assert.equal(emulator.identityRequests().length, logBefore, 'no control call in the request log');
  });

  it('counts each request the real @azure/identity sends, and nothing else', async () => {
    const before = await readCounters();
    const logBefore = emulator.identityRequests().length;
    const result = await runScenario('azure.ts', ['password'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    const after = await readCounters();
    // The App Service form (IDENTITY_ENDPOINT): one GET for one token, no probe.
    assert.equal(after.identityRequests - before.identityRequests, 1);
    assert.equal(after.tokensIssued - before.tokensIssued, 1);
    const sent = emulator.identityRequests().slice(logBefore);
    assert.deepEqual(
      sent.map((request) => `${request.method} ${request.path}`),
      ['GET /msi/token'],
    );
  });

  it('counts requests to a path it does not serve (404) and faulted answers, as an SDK’s probes and retries', async () => {
    const before = emulator.counters();
    assert.equal((await fetch(`${emulator.identityUrl}/metadata/instance`)).status, 404);
    emulator.setFaults({ status: 503, count: 1 });
    const faulted = await fetch(`${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01`, {
      headers: { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER as string },
    });
    assert.equal(faulted.status, 503);
    const after = emulator.counters();
    assert.equal(after.identityRequests - before.identityRequests, 2);
    assert.equal(after.faultsInjected - before.faultsInjected, 1);
  });
});
