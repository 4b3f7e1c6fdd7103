// dsqlTokenSource under the credential-expiry rules RDS has: a token ends with its credentials, credentials
// that end within a token's 15 minutes are renewed past the provider's cache, expired ones sign nothing,
// and failures are explained with DSQL's hints. The real DsqlSigner against the emulator is in
// dsql-plugin.test.ts; here a stand-in signer lets the provider's answers be scripted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DSQL_TOKEN_LIFETIME_SECONDS,
  type DsqlSignerModule,
  dsqlTokenSource,
} from '../../src/plugins/aws/dsql-token-source.ts';

/** A stand-in with the shape of @aws-sdk/dsql-signer's DsqlSigner: records the actions it signed. */
function fakeSignerModule(): { module: DsqlSignerModule; signed: string[] } {
  const signed: string[] = [];
  class DsqlSigner {
    async getDbConnectAuthToken() {
      signed.push('DbConnect');
      return 'abc.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Signature=00';
    }
    async getDbConnectAdminAuthToken() {
      signed.push('DbConnectAdmin');
      return 'abc.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Signature=00';
    }
  }
  return { module: { DsqlSigner } as unknown as DsqlSignerModule, signed };
}

/** A provider whose answers the test scripts: each call takes the next set, recording its options. */
function scriptedProvider(...answers: Array<Date | Error>) {
  const calls: Array<{ forceRefresh?: boolean } | undefined> = [];
  const provider = async (options?: { forceRefresh?: boolean }) => {
    calls.push(options);
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return { accessKeyId: `ASIA${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiration: next };
  };
  return { provider, calls };
}

const target = { hostname: 'abc.dsql.us-east-1.on.aws', username: 'orders_app', region: 'us-east-1' };
const now = Date.UTC(2026, 10, 29, 12);
const fullLifeMs = DSQL_TOKEN_LIFETIME_SECONDS * 1000;

describe('dsqlTokenSource with credentials that expire', () => {
  it('ends a token with its credentials, then renews them past the provider’s cache in one request', async () => {
    const { module, signed } = fakeSignerModule();
    const { provider, calls } = scriptedProvider(new Date(now + 4 * 60_000), new Date(now + 3_600_000));
    const source = dsqlTokenSource(module, target, provider, () => now);
    assert.equal(
      (await source.fetchToken()).expiresAtMs,
      now + 4 * 60_000,
      'the first token ends with its set',
    );
    assert.equal((await source.fetchToken()).expiresAtMs, now + fullLifeMs, 'a new set: 15 minutes');
    assert.deepEqual(calls, [undefined, { forceRefresh: true }], 'asked past the cache at once, not twice');
    assert.deepEqual(signed, ['DbConnect', 'DbConnect']);
  });

  it('keeps signing with the cached set while a renewal fails; a forced refresh fails instead', async () => {
    const { module } = fakeSignerModule();
    const { provider, calls } = scriptedProvider(
      new Date(now + 4 * 60_000),
      new Error('STS is down'),
      new Date(now + 4 * 60_000),
      new Error('STS is down'),
    );
    const source = dsqlTokenSource(module, target, provider, () => now);
    await source.fetchToken();
    assert.equal((await source.fetchToken()).expiresAtMs, now + 4 * 60_000);
    assert.deepEqual(calls, [undefined, { forceRefresh: true }, undefined]);
    await assert.rejects(source.fetchToken({ forceRefresh: true }), /STS is down/);
  });

  it('refuses to sign with credentials that have expired, naming Aurora DSQL', async () => {
    const { module, signed } = fakeSignerModule();
    const expired = { accessKeyId: 'ASIA1', secretAccessKey: 's', expiration: new Date(now - 90_000) };
    await assert.rejects(dsqlTokenSource(module, target, expired, () => now).fetchToken(), {
      code: 'CREDENTIAL_UNAVAILABLE',
      retryable: false,
      message: /expired at 2026-11-29T11:58:30\.000Z, 90 s ago: Aurora DSQL refuses a token they sign/,
      hint: /give aws\.credentials a provider/,
    });
    assert.deepEqual(signed, []);
  });

  it('explains an empty chain with DSQL’s hint, not RDS’s', async () => {
    const { module } = fakeSignerModule();
    const empty = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
        tryNextLink: false,
      });
    };
    await assert.rejects(dsqlTokenSource(module, target, empty).fetchToken(), {
      code: 'CREDENTIAL_UNAVAILABLE',
      retryable: false,
      hint: /dsql:DbConnect on the cluster .*--service dsql/,
    });
  });
});
