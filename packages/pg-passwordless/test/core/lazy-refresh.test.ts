// Lazy refresh (tokenCache.refresh: 'lazy', PG_PASSWORDLESS_REFRESH=lazy), for platforms that freeze
// the CPU between requests: no refresh timer at all, the token refreshed by the caller that finds it in
// its refresh window, single flight as before. The injected clock records every timer the cache sets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import type { TokenCacheSettings } from '../../src/core/contract.ts';
import { PasswordlessError } from '../../src/core/errors.ts';
import { resolveSettings } from '../../src/core/settings.ts';
import { createTelemetry } from '../../src/core/telemetry/telemetry.ts';
import {
  createTokenCache,
  DEFAULT_TOKEN_TIMEOUT_MS,
  type TokenCacheEvent,
} from '../../src/core/token-cache.ts';
import { type CacheRegistry, resolveConnection } from '../../src/index.ts';
import { ManualClock, settle } from '../helpers/manual-clock.ts';
import { ScriptedSource } from '../helpers/scripted-source.ts';

const HOUR = 60 * 60_000;
const telemetry = createTelemetry({
  loadOpenTelemetry: () => {
    throw new Error('not needed here');
  },
});
const outage = () =>
  new PasswordlessError('TOKEN_ENDPOINT_FAILED', 'GET http://127.0.0.1/msi/token: 503', { retryable: true });

function setup(refresh: 'ahead' | 'lazy', steps: ConstructorParameters<typeof ScriptedSource>[1]) {
  const clock = new ManualClock();
  const source = new ScriptedSource(clock, steps);
  const events: TokenCacheEvent[] = [];
  const cache = createTokenCache({ source, clock, refresh, random: () => 0.5, telemetry });
  cache.on((event) => events.push(event));
  return { clock, source, cache, events };
}

/** Every timer the cache set was a waiting caller's budget, and none is left once the call returned. */
function assertNoRefreshTimer(clock: ManualClock): void {
  assert.deepEqual(
    clock.timers.map((timer) => timer.delayMs),
    clock.timers.map(() => DEFAULT_TOKEN_TIMEOUT_MS),
    'only callers’ budgets',
  );
  assert.deepEqual(clock.pending(), [], 'nothing left to fire while the CPU is frozen');
}

describe('lazy refresh', () => {
  it('sets no timer: a process frozen past the token’s expiry gets a new token on its first connection, with no failure', async () => {
    const { clock, source, cache, events } = setup('lazy', [
      { token: 'tok-1', lifetimeMs: HOUR },
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    assert.equal(await cache.getToken(), 'tok-1');
    assertNoRefreshTimer(clock);
    clock.jump(3 * HOUR); // frozen between two requests
    assert.equal(await cache.getToken(), 'tok-2');
    assert.equal(source.calls, 2);
    assert.deepEqual(
      events.filter((event) => event.type === 'error'),
      [],
    );
    assertNoRefreshTimer(clock);
    assert.equal(clock.timers.length, 2, 'one budget per waiting caller');
    cache.close();
  });

  it('differs from ahead, whose timer would fire after the freeze', async () => {
    const { clock, cache } = setup('ahead', [{ token: 'tok-1', lifetimeMs: HOUR }]);
    await cache.getToken();
    assert.deepEqual(
      clock.pending().map((timer) => timer.delayMs),
      [0.75 * HOUR],
      'the refresh ahead, at 75 % of the token’s life',
    );
    cache.close();
  });

  it('a caller in the refresh window gets the current token at once and starts the one refresh; past the hand-out limit callers wait', async () => {
    const { clock, source, cache } = setup('lazy', [
      { token: 'tok-1', lifetimeMs: HOUR },
      'hold',
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    clock.jump(0.8 * HOUR); // refresh window: after 75 %, before the 2-minute margin
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.getToken()));
    assert.deepEqual(new Set(answers), new Set(['tok-1']), 'nobody waits for the refresh');
    await settle();
    assert.equal(source.calls, 2, 'ten callers, one refresh');
    clock.jump(0.2 * HOUR - 60_000); // the refresh is slow: now inside the safety margin
    let late: string | undefined;
    const waiting = cache.getToken().then((token) => {
      late = token;
    });
    await settle();
    assert.equal(late, undefined, 'past the hand-out limit the caller waits for the refresh');
    assert.equal(source.calls, 2, 'and joins it');
    source.release();
    await waiting;
    assert.equal(late, 'tok-2');
    assertNoRefreshTimer(clock);
    cache.close();
  });

  it('a failed refresh is absorbed, tried once with no timer, and tried again by a caller after the back-off', async () => {
    const { clock, source, cache, events } = setup('lazy', [
      { token: 'tok-1', lifetimeMs: HOUR },
      { error: outage() },
      { token: 'tok-2', lifetimeMs: HOUR },
    ]);
    await cache.getToken();
    clock.jump(0.8 * HOUR);
    assert.equal(await cache.getToken(), 'tok-1');
    await settle();
    assert.equal(source.calls, 2);
    assert.equal(events.filter((event) => event.type === 'error' && event.background).length, 1);
    assert.equal(await cache.getToken(), 'tok-1');
    await settle();
    assert.equal(source.calls, 2, 'not again before the back-off');
    assertNoRefreshTimer(clock);
    clock.jump(60_000);
    assert.equal(await cache.getToken(), 'tok-1');
    await settle();
    assert.equal(source.calls, 3);
    assert.equal(await cache.getToken(), 'tok-2');
    assertNoRefreshTimer(clock);
    cache.close();
  });
});

describe('the refresh setting', () => {
  it('comes from PG_PASSWORDLESS_REFRESH unless given in code, and is checked', () => {
    assert.equal(resolveSettings({}, { PG_PASSWORDLESS_REFRESH: 'lazy' }).tokenCache.refresh, 'lazy');
    assert.equal(resolveSettings({}, { PG_PASSWORDLESS_REFRESH: ' LAZY ' }).tokenCache.refresh, 'lazy');
    assert.equal(resolveSettings({}, {}).tokenCache.refresh, undefined, 'ahead by default');
    assert.equal(
      resolveSettings({ tokenCache: { refresh: 'ahead' } }, { PG_PASSWORDLESS_REFRESH: 'lazy' }).tokenCache
        .refresh,
      'ahead',
    );
    assert.throws(
      () => resolveSettings({}, { PG_PASSWORDLESS_REFRESH: 'eager' }),
      (error: unknown) =>
        error instanceof PasswordlessError &&
        error.code === 'CONFIG_INVALID' &&
        error.message.startsWith('PG_PASSWORDLESS_REFRESH is "eager"') &&
        /lazy/.test(error.hint ?? ''),
    );
    assert.throws(
      () => createTokenCache({ source: new ScriptedSource(new ManualClock(), []), refresh: 'soon' as never }),
      /tokenCache.refresh is "soon": not a refresh mode/,
    );
  });

  it('reaches the cache the cloud makes, with its labels, and is part of the cache’s key', async () => {
    const made: Array<{ refresh?: string; labels?: object; variant?: string }> = [];
    const registry = createCacheRegistry();
    const caches: CacheRegistry = {
      getOrCreate(key, makeOptions, variant) {
        return registry.getOrCreate(
          key,
          () => {
            const options = makeOptions();
            made.push({ refresh: options.refresh, labels: options.labels, variant });
            return options;
          },
          variant,
        );
      },
      clear: () => registry.clear(),
    };
    let fetches = 0;
    const credential = {
      getToken: async () => ({ token: `token-${++fetches}`, expiresOnTimestamp: Date.now() + HOUR }),
    };
    const resolve = (tokenCache: TokenCacheSettings, env: Record<string, string> = {}) =>
      resolveConnection('postgresql://orders-api@srv.postgres.database.azure.com/orders', {
        azure: { enabled: true, credential },
        caches,
        env,
        tokenCache,
      });
    const lazy = await resolve({}, { PG_PASSWORDLESS_REFRESH: 'lazy' });
    const ahead = await resolve({});
    const lazyAgain = await resolve({ refresh: 'lazy' });
    await lazy.params.token?.getToken();
    await ahead.params.token?.getToken();
    await lazyAgain.params.token?.getToken();
    assert.equal(fetches, 2, 'one cache per refresh mode');
    assert.deepEqual(
      made.map(({ refresh, labels }) => ({ refresh, labels })),
      [
        { refresh: 'lazy', labels: { cloud: 'azure', plugin: 'azure' } },
        { refresh: undefined, labels: { cloud: 'azure', plugin: 'azure' } },
      ],
    );
    assert.deepEqual(lazy.params.token?.labels, { cloud: 'azure', plugin: 'azure' });
    caches.clear();
  });
});
