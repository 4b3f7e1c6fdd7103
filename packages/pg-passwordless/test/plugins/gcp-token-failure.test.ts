// The library's reading of Google's refusals, held against the emulator's own table of them (which the
// library never imports): every refusal the emulator can answer a GCP credential with has a remedy, and
// the copy of an SDK error the library keeps tells the failure as the original does, minus the request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IAM_CREDENTIALS_REFUSALS,
  STS_REFUSALS,
  TOKEN_ENDPOINT_REFUSALS,
} from '../../../pg-passwordless-emulator/src/clouds/gcp-oauth-facts.ts';
import { classifyFailure } from '../../src/core/failure.ts';
import { googleRefusalOf, remedyFor, withoutRequest } from '../../src/plugins/gcp/token-failure.ts';

const file = {
  path: '/etc/gcp/credentials.json',
  type: 'external_account',
  account: 'orders@shop.iam.gserviceaccount.com',
  audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/providers/k8s',
  subjectTokenFile: '/var/run/token',
};

describe('gcp: Google’s refusals, read', () => {
  it('has a remedy for each refusal the emulator can give (bar the ones in its own wording)', () => {
    const oauth = [
      TOKEN_ENDPOINT_REFUSALS.grantType('client_credentials'),
      TOKEN_ENDPOINT_REFUSALS.noScope,
      TOKEN_ENDPOINT_REFUSALS.badScope,
      TOKEN_ENDPOINT_REFUSALS.unknownAccount,
      TOKEN_ENDPOINT_REFUSALS.signature,
      TOKEN_ENDPOINT_REFUSALS.audience,
      TOKEN_ENDPOINT_REFUSALS.timeframe,
      STS_REFUSALS.audienceFormat,
      STS_REFUSALS.unknownProvider,
      STS_REFUSALS.subjectAudience('https://ci.example.com'),
      STS_REFUSALS.stale(1_700_000_000),
    ];
    const remedies = new Map<string, string | undefined>();
    for (const refusal of oauth) {
      const error = Object.assign(new Error(refusal.error), {
        response: {
          status: refusal.status,
          data: { error: refusal.error, error_description: refusal.description },
        },
      });
      const read = googleRefusalOf(error);
      assert.deepEqual(read, { error: refusal.error, description: refusal.description });
      remedies.set(refusal.description, read && remedyFor(read, file));
    }
    const denied = IAM_CREDENTIALS_REFUSALS.denied;
    const readDenied = googleRefusalOf(
      Object.assign(new Error('403'), { response: { status: 403, data: denied.body } }),
    );
    assert.equal(readDenied?.error, 'PERMISSION_DENIED');
    remedies.set(denied.body.error.message, readDenied && remedyFor(readDenied, file));
    // An unsupported grant is the SDK's to send right, not the user's to fix: the general hint stands.
    remedies.delete(TOKEN_ENDPOINT_REFUSALS.grantType('client_credentials').description);
    const missing = [...remedies].filter(([, remedy]) => remedy === undefined).map(([words]) => words);
    assert.deepEqual(missing, []);
    assert.match(
      remedies.get(STS_REFUSALS.subjectAudience('https://ci.example.com').description) ?? '',
      /issue it for https:\/\/iam\.googleapis\.com/,
    );
    assert.match(
      remedies.get(TOKEN_ENDPOINT_REFUSALS.audience.description) ?? '',
      /signs it for https:\/\/oauth2\.googleapis\.com\/token/,
    );
    assert.match(remedies.get(denied.body.error.message) ?? '', /roles\/iam\.workloadIdentityUser/);
  });

  it('keeps what classifies a failure (status, Retry-After, gaxios retries, the network code) and drops the request', () => {
    const throttled = Object.assign(new Error('Too Many Requests'), {
      status: 429,
      response: { status: 429, headers: new Headers({ 'retry-after': '3' }), data: 'slow down' },
      config: {
        data: new URLSearchParams({ subject_token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2VjcmV0' }),
        retryConfig: { currentRetryAttempt: 3 },
      },
    });
    const kept = withoutRequest(throttled);
    assert.deepEqual(classifyFailure(kept), classifyFailure(throttled));
    assert.equal(classifyFailure(kept).retryAfterMs, 3000);
    assert.doesNotMatch(JSON.stringify(kept), /c2VjcmV0|subject_token|slow down/);
    const reset = new Error('request to https://sts.example failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    assert.deepEqual(classifyFailure(withoutRequest(reset)), classifyFailure(reset));
    assert.equal(classifyFailure(withoutRequest(reset)).networkCode, 'ECONNRESET');
  });
});
