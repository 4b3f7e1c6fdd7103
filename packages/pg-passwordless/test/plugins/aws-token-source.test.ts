import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RDS_TOKEN_LIFETIME_MS,
  type RdsSignerModule,
  rdsTokenSource,
} from '../../src/plugins/aws/token-source.ts';

/** A stand-in with the shape of @aws-sdk/rds-signer's Signer: signs a fake token with the credentials given. */
function fakeSignerModule(): { module: RdsSignerModule; signed: () => number } {
  let signed = 0;
  class Signer {
    constructor(readonly config: { credentials?: unknown }) {}
    async getAuthToken() {
      signed++;
      return 'db.example.com:5432/?Action=connect&DBUser=app_user&X-Amz-Signature=00';
    }
  }
  return { module: { Signer } as unknown as RdsSignerModule, signed: () => signed };
}

/** A credentials provider as the AWS SDK's are; records the options of each call. */
function fakeProvider(expiration?: Date) {
  const calls: Array<{ forceRefresh?: boolean } | undefined> = [];
  const provider = async (options?: { forceRefresh?: boolean }) => {
    calls.push(options);
    return { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session', expiration };
  };
  return { provider, calls };
}

const target = { hostname: 'db.example.com', port: 5432, username: 'app_user', region: 'us-east-1' };

describe('rdsTokenSource', () => {
  it('gives a token 15 minutes of life when the credentials last longer', async () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const { module, signed } = fakeSignerModule();
    const { provider } = fakeProvider(new Date(now + 6 * 3_600_000));
    const fetched = await rdsTokenSource(module, target, provider, () => now).fetchToken();
    assert.equal(fetched.expiresAtMs, now + RDS_TOKEN_LIFETIME_MS);
    assert.equal(signed(), 1);
    assert.ok(!String(fetched.token).includes('Action=connect'), 'the token redacts itself');
  });

  it('ends the token with the credentials that signed it when they expire first', async () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const credentialsExpiry = now + 4 * 60_000;
    const { module } = fakeSignerModule();
    const { provider } = fakeProvider(new Date(credentialsExpiry));
    const fetched = await rdsTokenSource(module, target, provider, () => now).fetchToken();
    assert.equal(fetched.expiresAtMs, credentialsExpiry);
  });

  it('reports a missing region as a configuration error', async () => {
    const module = {
      Signer: class {
        async getAuthToken(): Promise<string> {
          throw new Error('Region is missing');
        }
      },
    } as unknown as RdsSignerModule;
    const { provider } = fakeProvider();
    await assert.rejects(rdsTokenSource(module, { ...target, region: undefined }, provider).fetchToken(), {
      code: 'CONFIG_INVALID',
      message: /Region is missing/,
      retryable: false,
    });
  });

  it('asks the credentials provider past its cache on forceRefresh, and only then', async () => {
    const { module } = fakeSignerModule();
    const { provider, calls } = fakeProvider();
    const source = rdsTokenSource(module, target, provider);
    await source.fetchToken();
    await source.fetchToken({ forceRefresh: true });
    assert.deepEqual(calls, [undefined, { forceRefresh: true }]);
  });

  it('reports an empty credential chain as no credentials, not retried', async () => {
    const { module } = fakeSignerModule();
    const empty = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
        tryNextLink: false,
      });
    };
    await assert.rejects(rdsTokenSource(module, target, empty).fetchToken(), {
      code: 'CREDENTIAL_UNAVAILABLE',
      retryable: false,
    });
  });
});
