import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { PasswordlessError } from '../../src/core/errors.ts';
import { createTokenCache, type TokenCacheEvent } from '../../src/core/token-cache.ts';
import { driveUntilSettled, ManualClock, settle } from '../helpers/manual-clock.ts';
import { ScriptedSource } from '../helpers/scripted-source.ts';

const HOUR = 60 * 60_000;
const noJitter = () => 0.5;

function setup(steps: ConstructorParameters<typeof ScriptedSource>[1]) {
  const clock = new ManualClock();
  const source = new ScriptedSource(clock, steps);
  const events: TokenCacheEvent[] = [];
  const cache = createTokenCache({
    source,
    clock,
    random: noJitter,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
  });
  cache.on((event) => events.push(event));
  return { clock, source, cache, events };
}

const throttled = () =>
  new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'GET http://127.0.0.1/msi/token: 429', {
    retryable: true,
    retryAfterMs: 3_000,
  });
const outage = () =>
  new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'GET http://127.0.0.1/msi/token: 503', { retryable: true });

describe('token cache', () => {
  it('gives 50 concurrent cold callers one fetch', async () => {
    const { source, cache } = setup(['hold', { token: 'tok-1', lifetimeMs: HOUR }]);
    const callers = Array.from({ length: 50 }, () => cache.getToken());
    await settle();
    source.release();
    const tokens = await Promise.all(callers);
    assert.equal(source.calls, 1);
    assert.deepEqual(new Set(tokens), new Set(['tok-1']));
    assert.equal(cache.stats().waits, 50);
  });

  it('serves cached tokens without fetching again', async () => {
    const { source, cache, clock } = setup([{ token: 'tok-1', lifetimeMs: HOUR }]);
    await cache.getToken();
    clock.jump(10 * 60_000);
    assert.equal(await cache.getToken(), 'tok-1');
    assert.equal(source.calls, 1);
    assert.equal(cache.stats().cacheHits, 1);
  });

  it('refreshes ahead in the background while callers keep getting the current token at once', async () => {
    const { source, cache, clock } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      'hold',
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    await clock.advance(0.75 * HOUR); // the refresh timer fires and the fetch is held
    assert.equal(source.calls, 2);
    for (let i = 0; i < 10; i++) assert.equal(await cache.getToken(), 'tok-1'); // no caller waits on the held fetch
    assert.equal(cache.stats().waits, 1);
    source.release();
    await settle();
    assert.equal(await cache.getToken(), 'tok-2');
    assert.equal(cache.stats().refreshes, 1);
  });

  it('never hands out a token inside the safety margin, even when the refresh timer never fired', async () => {
    const { source, cache, clock } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      'hold',
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    clock.jump(HOUR - 60_000); // one minute before expiry: inside the two-minute margin
    let answered: string | undefined;
    const waiting = cache.getToken().then((token) => (answered = token));
    await settle();
    assert.equal(answered, undefined, 'the caller must wait for a new token');
    source.release();
    await waiting;
    assert.equal(answered, 'tok-2');
  });

  it('starts a refresh at use time when the timer was missed (sleeping laptop)', async () => {
    const { source, cache, clock } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    clock.jump(0.8 * HOUR); // past the refresh point, timer not fired
    assert.equal(await cache.getToken(), 'tok-1');
    await settle();
    assert.equal(source.calls, 2);
    assert.equal(await cache.getToken(), 'tok-2');
  });

  it('fails no caller during an outage while the token is valid, and recovers after it', async () => {
    const { source, cache, clock, events } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      { error: outage() },
    ]);
    await cache.getToken();
    await clock.advance(0.75 * HOUR);
    for (let minute = 0; minute < 10; minute++) {
      assert.equal(await cache.getToken(), 'tok-1');
      await clock.advance(60_000);
    }
    const backgroundErrors = events.filter((event) => event.type === 'error' && event.background);
    assert.ok(backgroundErrors.length >= 2, `outage reported as events (${backgroundErrors.length})`);
    source.push({ token: 'tok-2', lifetimeMs: HOUR });
    await clock.advance(60_000);
    assert.equal(await cache.getToken(), 'tok-2');
  });

  it('fails the caller with a typed error when no valid token exists, and has no dead state', async () => {
    const { source, cache, clock } = setup([{ error: outage() }]);
    const error = await driveUntilSettled(clock, cache.getToken()).then(
      () => assert.fail('expected a failure'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof PasswordlessError);
    assert.equal(error.code, 'TOKEN_ENDPOINT_FAILED');
    assert.match(error.message, /503/);
    assert.equal(source.calls, 3, 'bounded retries');
    source.push({ token: 'tok-after', lifetimeMs: HOUR });
    assert.equal(await cache.getToken(), 'tok-after');
  });

  it('honours Retry-After on 429 and backs off between attempts', async () => {
    const { source, cache, clock } = setup([{ error: throttled() }, { token: 'tok-1', lifetimeMs: HOUR }]);
    const waiting = cache.getToken();
    await settle();
    const sleeps = clock.pending().filter((timer) => timer.keepAlive);
    assert.equal(sleeps.length, 1);
    assert.ok((sleeps[0]?.delayMs ?? 0) >= 3_000, 'waits at least Retry-After');
    await clock.advance(3_000);
    assert.equal(await waiting, 'tok-1');
    assert.equal(source.calls, 2);
  });

  it('does not retry configuration errors', async () => {
    const unavailable = new PasswordlessError('CREDENTIAL_UNAVAILABLE', 'no managed identity here');
    const { source, cache } = setup([{ error: unavailable }]);
    await assert.rejects(cache.getToken(), (error: unknown) => error === unavailable);
    assert.equal(source.calls, 1);
  });

  it('treats a refresh that returns the same token (the SDK cache answered) as no refresh', async () => {
    const { source, cache, clock, events } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      { token: 'tok-1', lifetimeMs: HOUR },
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    await clock.advance(0.75 * HOUR);
    assert.equal(cache.stats().sameTokenReturns, 1);
    assert.ok(events.some((event) => event.type === 'same-token'));
    assert.equal(source.calls, 2);
    await clock.advance(0.2 * HOUR); // the follow-up attempt comes before the margin
    assert.equal(source.calls, 3);
    assert.equal(await cache.getToken(), 'tok-2');
  });

  it('fetches anew after invalidate(), and says whether the token really changed', async () => {
    const { source, cache, events } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      { token: 'tok-2', lifetimeMs: HOUR },
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    assert.deepEqual(await cache.invalidate(), { renewed: true });
    assert.equal(await cache.getToken(), 'tok-2');
    assert.equal(source.calls, 2);
    // The SDK answers from its own cache: the refused token comes back, and the caller is told.
    assert.deepEqual(await cache.invalidate(), { renewed: false });
    assert.equal(source.calls, 3);
    assert.equal(cache.stats().invalidations, 2);
    assert.deepEqual(
      events.filter((event) => event.type === 'invalidated'),
      [
        { type: 'invalidated', renewed: true },
        { type: 'invalidated', renewed: false },
      ],
    );
  });

  it('shares one invalidation among many refused logins, and a fetch begun before it cannot restore the old token', async () => {
    const { source, cache, clock } = setup([
      { token: 'tok-1', lifetimeMs: HOUR },
      'hold',
      { token: 'tok-2', lifetimeMs: HOUR }, // the forced fetch, while the background refresh is held
      { token: 'tok-1', lifetimeMs: HOUR }, // the held background refresh brings back the refused token
    ]);
    await cache.getToken();
    await clock.advance(0.8 * HOUR); // a background refresh starts and is held
    assert.equal(source.calls, 2);
    const all = Promise.all([cache.invalidate(), cache.invalidate(), cache.invalidate()]);
    await settle();
    source.release();
    assert.deepEqual(await all, [{ renewed: true }, { renewed: true }, { renewed: true }]);
    await settle();
    assert.equal(await cache.getToken(), 'tok-2');
    assert.equal(cache.stats().invalidations, 1);
  });

  it('gives a waiting caller the typed error within its budget, and the next caller tries again', async () => {
    const clock = new ManualClock();
    const source = new ScriptedSource(clock, ['hold', { token: 'late', lifetimeMs: HOUR }]);
    const cache = createTokenCache({ source, clock, timeoutMs: 5_000 });
    const waiting = cache.getToken();
    waiting.catch(() => {});
    await clock.advance(5_000);
    await assert.rejects(waiting, { code: 'TOKEN_ENDPOINT_FAILED', message: /within 5000 ms/ });
    source.release();
    assert.equal(await cache.getToken(), 'late');
  });

  it('schedules background timers that do not keep the process alive', async () => {
    const { cache, clock } = setup([{ token: 'tok-1', lifetimeMs: HOUR }]);
    await cache.getToken();
    const timers = clock.pending();
    assert.equal(timers.length, 1);
    assert.equal(timers[0]?.keepAlive, false);
  });

  it('retries a failing background refresh on timers that do not keep the process alive', async () => {
    const { cache, clock } = setup([{ token: 'tok-1', lifetimeMs: HOUR }, { error: outage() }]);
    await cache.getToken();
    await clock.advance(0.75 * HOUR - 1);
    clock.jump(1); // reach the refresh point without firing anything yet
    await clock.advance(0);
    const waits = clock.pending();
    assert.ok(waits.length > 0);
    assert.ok(
      waits.every((timer) => !timer.keepAlive),
      'background waits are unref()-able',
    );
  });

  it('lets a process that used it exit on its own', () => {
    const script = `
      import { createTokenCache, SecretToken } from 'pg-passwordless';
      const cache = createTokenCache({ source: { describe: () => 'inline', fetchToken: async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 3_600_000 }) } });
      console.log(await cache.getToken() === 't' ? 'got token' : 'wrong');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.signal, null, 'the process had to be killed: a timer kept it alive');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'got token');
  });

  it('rejects callers after close()', async () => {
    const { cache } = setup([{ token: 'tok-1', lifetimeMs: HOUR }]);
    cache.close();
    await assert.rejects(cache.getToken(), { code: 'CLOSED' });
  });
});
