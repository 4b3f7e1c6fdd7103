// Readiness while the identity endpoint is down, as Kubernetes would read it: `pg-passwordless proxy`
// against the emulator with its faults, and psql as the client. GCP: a refused token is renewed past
// google-auth-library's cache, which marks the cached token expired, so an outage of the metadata server
// then leaves the proxy with no token to be had. (On AWS the SDK's cached credentials still sign tokens
// during an outage, until they expire.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { eventually, get, killStrayProxies, psql, startProxyCli, stopProxy } from './proxy-cli.ts';

describe('pg-passwordless proxy: readiness and the identity endpoint (GCP)', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'gcp' });
  });
  after(async () => {
    await killStrayProxies();
    await emulator?.stop();
  });

  it('503 while the identity endpoint is down and no token is cached; 200 again once it is back, with no client', async () => {
    const { proxy, urls, http } = await startProxyCli(
      ['--listen', '127.0.0.1:0', '--http-address', '127.0.0.1:0'],
      emulator.env,
    );
    assert.ok(http);
    const url = urls[0] as string;
    assert.equal((await psql(url, 'select 1')).code, 0);
    assert.deepEqual(await get(http, '/readiness'), { status: 200, body: 'ok\n' });

    // The identity endpoint goes down; a token still cached keeps the proxy ready.
    emulator.setFaults({ status: 503 });
    assert.deepEqual(await get(http, '/readiness'), { status: 200, body: 'ok\n' });
    // The server stops taking that token: the login drops it and finds no new one.
    assert.ok(emulator.revokeAcceptedTokens() > 0);
    const failed = await psql(url, 'select 1');
    assert.notEqual(failed.code, 0);
    const down = await get(http, '/readiness');
    assert.equal(down.status, 503, down.body);
    assert.ok(down.body.startsWith(`${emulator.env.PGUSER}@127.0.0.1:`), down.body);
    assert.match(down.body, /\/postgres: no token: TOKEN_ENDPOINT_FAILED: .+ answered 503\. .+\n$/);
    assert.equal(down.body.split('\n').length, 2, 'one line');
    assert.deepEqual(await get(http, '/liveness'), { status: 200, body: 'ok\n' });
    // That probe started a fetch; once the endpoint has refused it, the proxy is still not ready.
    const faultsAtProbe = emulator.counters().faultsInjected;
    await eventually(
      () => emulator.counters().faultsInjected > faultsAtProbe,
      'the probe’s fetch is refused',
    );
    assert.equal((await get(http, '/readiness')).status, 503);
    const issuedWhileDown = emulator.counters().tokensIssued;

    emulator.clearFaults();
    // The probes themselves fetch the token again: no client has to connect first.
    await eventually(async () => (await get(http, '/readiness')).status === 200, 'readiness recovers');
    assert.ok(emulator.counters().tokensIssued > issuedWhileDown, 'the probes fetched a new token');
    const back = await psql(url, 'select current_user');
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout.trim(), emulator.env.PGUSER);
    assert.equal((await stopProxy(proxy)).code, 0);
  });
});
