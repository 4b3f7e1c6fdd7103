import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRefusedLoginPolicy, isRefusedLogin } from '../../src/core/refused-login.ts';

/** A token cache stand-in: `invalidate` hands out the next token of the list (or the same one again). */
function tokens(sequence: Array<string | Error>) {
  let current = 'first';
  let invalidations = 0;
  let release: (() => void) | undefined;
  let held: Promise<void> | undefined;
  return {
    handle: {
      getToken: async () => current,
      invalidate: async () => {
        invalidations++;
        await held;
        const next = sequence.shift();
        if (next instanceof Error) throw next;
        const renewed = next !== undefined && next !== current;
        if (next !== undefined) current = next;
        return { renewed };
      },
    },
    invalidations: () => invalidations,
    /** Holds every invalidation until released, so several refusals overlap one renewal. */
    hold() {
      held = new Promise((resolve) => {
        release = resolve;
      });
      return () => release?.();
    },
  };
}

describe('the refused-login policy', () => {
  it('knows a refused login by its SQLSTATE', () => {
    assert.equal(isRefusedLogin({ code: '28000' }), true);
    assert.equal(isRefusedLogin({ code: '28P01' }), true);
    assert.equal(isRefusedLogin({ code: '53300' }), false);
    assert.equal(isRefusedLogin(null), false);
  });

  it('renews once when the SDK gives a new token, and says the retry is worth it', async () => {
    const cache = tokens(['second']);
    const policy = createRefusedLoginPolicy(cache.handle);
    assert.deepEqual(await policy.afterRefusal('first'), { retry: true, reason: 'renewed' });
    assert.equal(cache.invalidations(), 1);
    assert.equal(policy.renewals(), 1);
  });

  it('does not retry when the SDK answers with the refused token again', async () => {
    const cache = tokens(['first']);
    const policy = createRefusedLoginPolicy(cache.handle);
    assert.deepEqual(await policy.afterRefusal('first'), { retry: false, reason: 'same-token' });
    assert.equal(policy.renewals(), 0);
  });

  it('retries without a renewal when the cache already holds another token', async () => {
    const cache = tokens([]);
    const policy = createRefusedLoginPolicy(cache.handle);
    assert.deepEqual(await policy.afterRefusal('an older token'), { retry: true, reason: 'replaced' });
    assert.equal(cache.invalidations(), 0);
  });

  it('shares one renewal among refusals that come together', async () => {
    const cache = tokens(['second']);
    const policy = createRefusedLoginPolicy(cache.handle);
    const release = cache.hold();
    const verdicts = Promise.all([1, 2, 3, 4, 5].map(() => policy.afterRefusal('first')));
    release();
    for (const verdict of await verdicts) assert.equal(verdict.retry, true);
    assert.equal(cache.invalidations(), 1, 'one identity request for five refused logins');
  });

  it('renews at most once per interval: a role that is missing costs one request per interval', async () => {
    const cache = tokens(['second', 'third', 'fourth']);
    let now = 0;
    const policy = createRefusedLoginPolicy(cache.handle, { intervalMs: 30_000, now: () => now });
    assert.equal((await policy.afterRefusal('first')).reason, 'renewed');
    now = 29_999;
    assert.deepEqual(await policy.afterRefusal('second'), { retry: false, reason: 'too-soon' });
    now = 30_000;
    assert.equal((await policy.afterRefusal('second')).reason, 'renewed');
    assert.equal(cache.invalidations(), 2);
  });

  it('reports a renewal that fails, and tries again after the interval', async () => {
    let now = 0;
    const cache = tokens([new Error('identity endpoint down'), 'second']);
    const policy = createRefusedLoginPolicy(cache.handle, { now: () => now });
    assert.deepEqual(await policy.afterRefusal('first'), { retry: false, reason: 'failed' });
    now = 30_000;
    assert.deepEqual(await policy.afterRefusal('first'), { retry: true, reason: 'renewed' });
  });
});
