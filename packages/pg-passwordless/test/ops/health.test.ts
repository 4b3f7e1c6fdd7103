// Readiness as the proxy and the pool read it: the real token cache over a scripted source and a
// manual clock (no sleeping), then the probes composed over several targets.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PasswordlessError } from '../../src/core/errors.ts';
import { createTokenCache } from '../../src/core/token-cache.ts';
import { createEventLog } from '../../src/ops/event-log.ts';
import { createServiceHealth, type LoginHealth } from '../../src/ops/service-health.ts';
import { createTokenHealth } from '../../src/ops/token-health.ts';
import { ManualClock, settle } from '../helpers/manual-clock.ts';
import { ScriptedSource } from '../helpers/scripted-source.ts';

const MINUTE = 60_000;

function watchedCache(source: ScriptedSource, clock: ManualClock) {
  const cache = createTokenCache({ source, clock, random: () => 0.5, retry: { maxAttempts: 1 } });
  const health = createTokenHealth({
    getToken: () => cache.getToken(),
    handle: cache,
    now: () => clock.now(),
  });
  return { cache, health };
}

const endpointDown = () =>
  new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'Could not get a token from the scripted source.', {
    cause: new Error('503 Service Unavailable'),
    hint: 'Not part of a probe’s line.',
  });

describe('token health', () => {
  it('before the first token: not ready, and the check itself fetches one', async () => {
    const clock = new ManualClock();
    const source = new ScriptedSource(clock, ['hold', { token: 'first', lifetimeMs: 60 * MINUTE }]);
    const { cache, health } = watchedCache(source, clock);
    assert.deepEqual(health.check(), { ok: false, reason: 'no token yet: fetching one' });
    assert.deepEqual(health.check(), { ok: false, reason: 'no token yet: fetching one' });
    assert.equal(source.calls, 1, 'one fetch however often the probe asks');
    source.release();
    await settle();
    assert.deepEqual(health.check(), { ok: true });
    cache.close();
  });

  it('a token is usable until the cache stops handing it out, not until it expires', async () => {
    const clock = new ManualClock();
    // Ten minutes: the cache's margin is a tenth of that, one minute before expiry.
    const source = new ScriptedSource(clock, [
      { token: 'first', lifetimeMs: 10 * MINUTE },
      { error: endpointDown() },
    ]);
    const { cache, health } = watchedCache(source, clock);
    await health.getToken();
    clock.jump(9 * MINUTE - 1);
    assert.deepEqual(health.check(), { ok: true });
    clock.jump(2);
    const late = health.check();
    assert.equal(late.ok, false);
    await settle();
    assert.deepEqual(health.check(), {
      ok: false,
      reason:
        'no token: TOKEN_ENDPOINT_FAILED: Could not get a token from the scripted source. (503 Service Unavailable)',
    });
    cache.close();
  });

  it('goes unready when the server’s refusal drops the token and no new one comes, ready again after', async () => {
    const clock = new ManualClock();
    const source = new ScriptedSource(clock, [
      { token: 'first', lifetimeMs: 60 * MINUTE },
      { error: endpointDown() },
    ]);
    const { cache, health } = watchedCache(source, clock);
    await health.getToken();
    assert.deepEqual(health.check(), { ok: true });
    // What the refused-login policy does when the server refuses the token: the failure reaches
    // readiness through the cache's events, not through the health's own getToken.
    await assert.rejects(cache.invalidate(), { code: 'TOKEN_ENDPOINT_FAILED' });
    const down = health.check();
    assert.equal(down.ok, false);
    assert.match(
      (down as { reason: string }).reason,
      /^no token: TOKEN_ENDPOINT_FAILED: .*\(503 Service Unavailable\)$/,
    );
    await settle();
    const callsWhileDown = source.calls;
    source.push({ token: 'second', lifetimeMs: 60 * MINUTE });
    health.check();
    await settle();
    assert.equal(source.calls, callsWhileDown + 1, 'the probe fetched, no client had to');
    assert.deepEqual(health.check(), { ok: true });
    cache.close();
  });

  it('without the cache’s handle, the last fetch decides', async () => {
    let fail = true;
    const health = createTokenHealth({
      getToken: async () => {
        if (fail) throw new Error('no identity here');
        return 'token';
      },
    });
    assert.deepEqual(health.check(), { ok: false, reason: 'no token yet: fetching one' });
    await settle();
    assert.deepEqual(health.check(), { ok: false, reason: 'no token: no identity here' });
    fail = false;
    // That check started another fetch, which failed too; the next one starts one that succeeds.
    await settle();
    assert.equal(health.check().ok, false);
    await settle();
    assert.deepEqual(health.check(), { ok: true });
  });
});

describe('the probes of a command', () => {
  const ready = { getToken: async () => 't', check: () => ({ ok: true as const }), close: () => {} };
  const noToken = {
    ...ready,
    check: () => ({ ok: false as const, reason: 'no token: TOKEN_ENDPOINT_FAILED' }),
  };

  it('startup waits for started(); liveness always passes; readiness fails while starting and draining', async () => {
    const health = createServiceHealth([{ name: 'orders', token: ready }]);
    assert.equal((await health.probes.startup()).ok, false);
    assert.equal((await health.probes.readiness()).ok, false);
    assert.deepEqual(await health.probes.liveness(), { ok: true });
    health.started();
    assert.deepEqual(
      [await health.probes.startup(), await health.probes.readiness()],
      [{ ok: true }, { ok: true }],
    );
    health.draining();
    assert.deepEqual(await health.probes.readiness(), {
      ok: false,
      reason: 'shutting down: no new sessions',
    });
    assert.deepEqual(
      [await health.probes.startup(), await health.probes.liveness()],
      [{ ok: true }, { ok: true }],
    );
  });

  it('a login that failed for a lasting reason fails readiness until a login succeeds; a passing one does not', async () => {
    let login: LoginHealth | undefined;
    const health = createServiceHealth([
      { name: 'orders-api@db:5432/orders', token: ready, lastLogin: () => login },
      { name: 'orders-api@db:5432/billing', token: ready },
    ]);
    health.started();
    assert.deepEqual(await health.probes.readiness(), { ok: true });
    login = { ok: false, lasting: false, reason: 'cannot reach the server' };
    assert.deepEqual(await health.probes.readiness(), { ok: true });
    login = { ok: false, lasting: true, reason: 'the server refused a renewed token too: 28P01 ...' };
    assert.deepEqual(await health.probes.readiness(), {
      ok: false,
      reason: 'orders-api@db:5432/orders: the server refused a renewed token too: 28P01 ...',
    });
    login = { ok: true };
    assert.deepEqual(await health.probes.readiness(), { ok: true });
  });

  it('names every target that is not ready, on one line', async () => {
    const health = createServiceHealth([
      { name: 'a', token: noToken },
      { name: 'b', token: ready },
      { name: 'c', token: noToken },
    ]);
    health.started();
    assert.deepEqual(await health.probes.readiness(), {
      ok: false,
      reason: 'a: no token: TOKEN_ENDPOINT_FAILED; c: no token: TOKEN_ENDPOINT_FAILED',
    });
  });
});

describe('the event log', () => {
  const written = (format: 'text' | 'json') => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk) => (text += chunk));
    const log = createEventLog({
      format,
      stream,
      prefix: 'pg-passwordless proxy',
      now: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    return { log, text: () => text };
  };

  it('text: the prefix and the message, as the proxy has always written', () => {
    const { log, text } = written('text');
    log({ level: 'warn', event: 'login_refused', message: 'refused a login', fields: { peer: 'x' } });
    assert.equal(text(), 'pg-passwordless proxy: refused a login\n');
  });

  it('json: one object a line; fields cannot replace time, level, event or message; a newline stays inside', () => {
    const { log, text } = written('json');
    log({
      level: 'warn',
      event: 'login_refused',
      message: 'refused a login from x:\nforged line',
      fields: {
        peer: '127.0.0.1:5000',
        sqlstate: '28000',
        level: 'debug',
        time: 'never',
        skipped: undefined,
      },
    });
    log({
      level: 'info',
      event: 'shutdown_started',
      message: 'SIGTERM',
      fields: { open: 2, graceSeconds: 1.5 },
    });
    const lines = text().split('\n');
    assert.equal(lines.length, 3, 'two lines, each ended');
    assert.deepEqual(JSON.parse(lines[0] as string), {
      time: '2026-01-02T03:04:05.000Z',
      level: 'warn',
      event: 'login_refused',
      message: 'refused a login from x:\nforged line',
      peer: '127.0.0.1:5000',
      sqlstate: '28000',
    });
    assert.deepEqual(Object.keys(JSON.parse(lines[1] as string)), [
      'time',
      'level',
      'event',
      'message',
      'open',
      'graceSeconds',
    ]);
  });
});
