// A token cache is shared only by connections that would fetch the same token the same way: the cloud's
// key (identity, scope, target) and the `tokenCache` settings. A pool created with another budget or
// retry policy gets a cache of its own instead of silently using the first pool's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import { resolveConnection, type Settings } from '../../src/index.ts';

const URL_ = 'postgresql://orders-api@srv.postgres.database.azure.com/orders';

/** A credential in code that counts its fetches (no identity endpoint involved). */
function countingCredential() {
  let fetches = 0;
  return {
    credential: {
      getToken: async () => ({ token: `token-${++fetches}`, expiresOnTimestamp: Date.now() + 3_600_000 }),
    },
    fetches: () => fetches,
  };
}

describe('the token cache key', () => {
  it('shares one cache between resolutions with the same identity, target and tokenCache settings', async () => {
    const { credential, fetches } = countingCredential();
    const caches = createCacheRegistry();
    const settings = (): Settings => ({ azure: { enabled: true, credential }, caches, env: {} });
    const first = await resolveConnection(URL_, settings());
    const second = await resolveConnection(URL_, settings());
    assert.equal(await first.params.token?.getToken(), await second.params.token?.getToken());
    assert.equal(fetches(), 1);
    caches.clear();
  });

  it('gives a pool with other tokenCache settings a cache of its own', async () => {
    const { credential, fetches } = countingCredential();
    const caches = createCacheRegistry();
    const patient = await resolveConnection(URL_, {
      azure: { enabled: true, credential },
      caches,
      env: {},
      tokenCache: { timeoutMs: 30_000 },
    });
    const hasty = await resolveConnection(URL_, {
      azure: { enabled: true, credential },
      caches,
      env: {},
      tokenCache: { timeoutMs: 2_000, retry: { maxAttempts: 1 } },
    });
    await patient.params.token?.getToken();
    await hasty.params.token?.getToken();
    assert.equal(fetches(), 2, 'two caches, each fetching its own token');
    assert.equal(patient.params.token?.stats().fetches, 1);
    assert.equal(hasty.params.token?.stats().fetches, 1);
    // The same settings written in another key order are the same settings.
    const again = await resolveConnection(URL_, {
      azure: { enabled: true, credential },
      caches,
      env: {},
      tokenCache: { retry: { maxAttempts: 1 }, timeoutMs: 2_000 },
    });
    await again.params.token?.getToken();
    assert.equal(fetches(), 2);
    caches.clear();
  });

  it('keeps a credential object’s caches apart by target: one credential, two servers, two tokens', async () => {
    const { credential, fetches } = countingCredential();
    const caches = createCacheRegistry();
    const settings: Settings = { azure: { enabled: true, credential }, caches, env: {} };
    const publicCloud = await resolveConnection(URL_, settings);
    const usgov = await resolveConnection(
      'postgresql://orders-api@srv.postgres.database.usgovcloudapi.net/orders',
      settings,
    );
    await publicCloud.params.token?.getToken();
    await usgov.params.token?.getToken();
    assert.equal(fetches(), 2, 'each audience its own token');
    caches.clear();
  });
});
