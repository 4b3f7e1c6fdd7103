import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RDS_TOKEN_LIFETIME_MS,
  type RdsSignerModule,
  rdsTokenSource,
} from '../../src/plugins/aws/token-source.ts';

/** A stand-in with the shape of @aws-sdk/rds-signer's Signer: resolves credentials, signs a fake token. */
function fakeSignerModule(expiration?: Date): { module: RdsSignerModule; signed: () => number } {
  let signed = 0;
  const credentials = {
    accessKeyId: 'ASIAEXAMPLE',
    secretAccessKey: 'secret',
    sessionToken: 'session',
    expiration,
  };
  class Signer {
    credentials: unknown;
    constructor(config: { credentials?: unknown }) {
      this.credentials = config.credentials ?? (async () => credentials);
    }
    async getAuthToken() {
      signed++;
      return 'db.example.com:5432/?Action=connect&DBUser=app_user&X-Amz-Signature=00';
    }
  }
  return { module: { Signer } as unknown as RdsSignerModule, signed: () => signed };
}

const target = { hostname: 'db.example.com', port: 5432, username: 'app_user', region: 'us-east-1' };

describe('rdsTokenSource', () => {
  it('gives a token 15 minutes of life when the credentials last longer', async () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const { module, signed } = fakeSignerModule(new Date(now + 6 * 3_600_000));
    const fetched = await rdsTokenSource(module, target, undefined, () => now).fetchToken();
    assert.equal(fetched.expiresAtMs, now + RDS_TOKEN_LIFETIME_MS);
    assert.equal(signed(), 1);
    assert.ok(!String(fetched.token).includes('Action=connect'), 'the token redacts itself');
  });

  it('ends the token with the credentials that signed it when they expire first', async () => {
    const now = Date.UTC(2026, 10, 29, 12);
    const credentialsExpiry = now + 4 * 60_000;
    const { module } = fakeSignerModule(new Date(credentialsExpiry));
    const fetched = await rdsTokenSource(module, target, undefined, () => now).fetchToken();
    assert.equal(fetched.expiresAtMs, credentialsExpiry);
  });

  it('reports a missing region as a configuration error', async () => {
    const module = {
      Signer: class {
        credentials = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' });
        async getAuthToken(): Promise<string> {
          throw new Error('Region is missing');
        }
      },
    } as unknown as RdsSignerModule;
    await assert.rejects(rdsTokenSource(module, { ...target, region: undefined }).fetchToken(), {
      code: 'CONFIG_INVALID',
      message: /no AWS region is configured/,
    });
  });
});
