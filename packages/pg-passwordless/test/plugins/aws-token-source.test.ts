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

/** A provider whose answers the test scripts: each call takes the next set, recording its options. */
function scriptedProvider(...answers: Array<Date | Error>) {
  const calls: Array<{ forceRefresh?: boolean } | undefined> = [];
  const provider = async (options?: { forceRefresh?: boolean }) => {
    calls.push(options);
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return {
      accessKeyId: `ASIA${calls.length}`,
      secretAccessKey: 'secret',
      sessionToken: 'session',
      expiration: next,
    };
  };
  return { provider, calls };
}

describe('rdsTokenSource with credentials that expire before a token would', () => {
  const now = Date.UTC(2026, 10, 29, 12);

  it('renews credentials that end within 15 minutes past the provider’s cache, in one request', async () => {
    const { module } = fakeSignerModule();
    // The SDK's cache answers with a set that ends in 4 minutes; asked past it, a new one for an hour.
    const { provider, calls } = scriptedProvider(new Date(now + 4 * 60_000), new Date(now + 3_600_000));
    const source = rdsTokenSource(module, target, provider, () => now);
    assert.equal(
      (await source.fetchToken()).expiresAtMs,
      now + 4 * 60_000,
      'the first token ends with its set',
    );
    const renewed = await source.fetchToken();
    assert.equal(
      renewed.expiresAtMs,
      now + RDS_TOKEN_LIFETIME_MS,
      'a new set: the token gets its 15 minutes',
    );
    assert.deepEqual(calls, [undefined, { forceRefresh: true }], 'asked past the cache at once, not twice');
  });

  it('keeps signing with the cached set while a renewal fails, the token ending with it', async () => {
    const { module } = fakeSignerModule();
    const { provider, calls } = scriptedProvider(
      new Date(now + 4 * 60_000),
      new Error('STS is down'),
      new Date(now + 4 * 60_000),
    );
    const source = rdsTokenSource(module, target, provider, () => now);
    await source.fetchToken();
    assert.equal((await source.fetchToken()).expiresAtMs, now + 4 * 60_000);
    assert.deepEqual(calls, [undefined, { forceRefresh: true }, undefined]);
  });

  it('fails a refresh the caller forced (a refused login) when the provider fails', async () => {
    const { module } = fakeSignerModule();
    const { provider } = scriptedProvider(new Date(now + 3_600_000), new Error('STS is down'));
    const source = rdsTokenSource(module, target, provider, () => now);
    await source.fetchToken();
    await assert.rejects(source.fetchToken({ forceRefresh: true }), /STS is down/);
  });

  it('refuses to sign with credentials that have expired, and says they cannot renew themselves', async () => {
    const { module, signed } = fakeSignerModule();
    const expired = {
      accessKeyId: 'ASIA1',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date(now - 90_000),
    };
    await assert.rejects(rdsTokenSource(module, target, expired, () => now).fetchToken(), {
      code: 'CREDENTIAL_UNAVAILABLE',
      retryable: false,
      message:
        /the AWS credentials from aws\.credentials expired at 2026-11-29T11:58:30\.000Z, 90 s ago: RDS refuses a token they sign/,
      hint: /give aws\.credentials a provider/,
    });
    assert.equal(signed(), 0);
  });
});
