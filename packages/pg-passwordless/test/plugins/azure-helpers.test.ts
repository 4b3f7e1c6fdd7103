import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roleFromClaims } from '../../src/plugins/azure/role.ts';
import { azureScope, cloudOfHost } from '../../src/plugins/azure/scope.ts';

const userFromClaims = (claims: Record<string, unknown>) => roleFromClaims(claims).name;

describe('azure cloud and scope', () => {
  it('follows the server host to its cloud', () => {
    assert.equal(
      azureScope('srv.postgres.database.azure.com'),
      'https://ossrdbms-aad.database.windows.net/.default',
    );
    assert.equal(cloudOfHost('srv.postgres.database.usgovcloudapi.net'), 'usgov');
    assert.equal(
      azureScope('srv.postgres.database.chinacloudapi.cn'),
      'https://ossrdbms-aad.database.chinacloudapi.cn/.default',
    );
    assert.equal(
      azureScope('localhost', { cloud: 'usgov' }),
      'https://ossrdbms-aad.database.usgovcloudapi.net/.default',
    );
    assert.equal(azureScope('localhost', { scope: 'api://x/.default' }), 'api://x/.default');
  });
});

describe('userFromClaims', () => {
  it('uses the UPN for a person and the resource name for a managed identity', () => {
    assert.equal(userFromClaims({ idtyp: 'user', upn: 'dev@contoso.com', oid: 'o' }), 'dev@contoso.com');
    const mirid =
      '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-api';
    assert.equal(userFromClaims({ idtyp: 'app', xms_mirid: mirid }), 'orders-api');
    assert.equal(
      userFromClaims({
        xms_mirid: '/subscriptions/s/resourcegroups/rg/providers/Microsoft.Web/sites/my-web-app',
      }),
      'my-web-app',
    );
  });

  it('explains how to create a role when the token does not name one', () => {
    assert.throws(() => userFromClaims({ idtyp: 'app', oid: '1111-2222' }), {
      code: 'USER_MISSING',
      message: /pgaadauth_create_principal_with_oid\('<role>', '1111-2222', 'service'/,
    });
  });
});

describe('azure plugin token sharing', () => {
  it('shares one token cache between host calls with the same identity and server', async () => {
    const { setDatabaseConnectionParams } = await import('../../src/index.ts');
    const { createCacheRegistry } = await import('../../src/core/cache-registry.ts');
    let requests = 0;
    const credential = {
      getToken: async () => {
        requests++;
        return {
          token: `header.${Buffer.from('{}').toString('base64url')}.sig-${requests}`,
          expiresOnTimestamp: Date.now() + 3_600_000,
        };
      },
    };
    const settings = { azure: { enabled: true, credential }, env: {}, caches: createCacheRegistry() };
    const url = 'postgresql://orders-api@srv.postgres.database.azure.com/orders';
    const pools = await Promise.all([1, 2, 3].map(() => setDatabaseConnectionParams(url, settings)));
    const tokens = await Promise.all(pools.map((params) => (params.password as () => Promise<string>)()));
    assert.equal(requests, 1, 'three pools, one token request');
    assert.equal(new Set(tokens).size, 1);
  });
});

describe('azure plugin without a user in the URL', () => {
  it('fails closed when the token that would name the role cannot be fetched', async () => {
    const { setDatabaseConnectionParams } = await import('../../src/index.ts');
    const { createCacheRegistry } = await import('../../src/core/cache-registry.ts');
    const credential = {
      getToken: async () => {
        throw Object.assign(new Error('ManagedIdentityCredential: no managed identity endpoint'), {
          name: 'CredentialUnavailableError',
        });
      },
    };
    const settings = { azure: { enabled: true, credential }, env: {}, caches: createCacheRegistry() };
    await assert.rejects(
      setDatabaseConnectionParams('postgresql://srv.postgres.database.azure.com/orders', settings),
      {
        code: 'USER_MISSING',
        message: /token that would name the role could not be fetched/,
      },
    );
  });
});
