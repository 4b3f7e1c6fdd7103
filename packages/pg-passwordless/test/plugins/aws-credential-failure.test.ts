// What the aws plugin makes of a failure to get credentials, with the container endpoint's answer
// scripted: the SDK's default chain drops it, so the plugin asks once more. The real SDK against the
// emulator is in aws-identity-paths.test.ts; here, the cases an emulator run cannot reach cheaply, and
// the plugin's own request to the emulator's endpoint.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { classifyFailure } from '../../src/core/failure.ts';
import { type ProbeOutcome, probeContainerEndpoint } from '../../src/plugins/aws/container-probe.ts';
import { explainCredentialFailure } from '../../src/plugins/aws/credential-failure.ts';

/** What the chain throws when the container endpoint failed: its answer gone. */
const chainGaveUp = () =>
  Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
    tryNextLink: false,
  });
const podEnv = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
    '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
};
const explain = (outcome: ProbeOutcome | undefined, env: Record<string, string> = podEnv) =>
  explainCredentialFailure(chainGaveUp(), {
    where: 'RDS IAM signing',
    reached: 'container',
    env,
    probe: async () => outcome,
  });

describe('explainCredentialFailure, container endpoint', () => {
  it('a refusal: its status and reason, not retried, and a hint for the path in use', async () => {
    const pod = await explain({
      refused: true,
      status: 400,
      reason: 'Service account token cannot be empty',
    });
    assert.equal(pod.code, 'TOKEN_ENDPOINT_FAILED');
    assert.equal(pod.retryable, false);
    assert.match(
      pod.message,
      /http:\/\/169\.254\.170\.23\/v1\/credentials refused the request with 400: Service account token cannot be empty/,
    );
    assert.match(pod.hint ?? '', /pod identity association/);
    assert.deepEqual(
      { reason: classifyFailure(pod).reason, status: classifyFailure(pod).status },
      { reason: 'rejected', status: 400 },
    );
    const ecs = await explain(
      { refused: true, status: 401, reason: 'Unauthorized' },
      { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' },
    );
    assert.match(ecs.hint ?? '', /AWS_CONTAINER_AUTHORIZATION_TOKEN: ECS sets it/);
  });

  it('a throttled or failing endpoint: retried, honouring Retry-After', async () => {
    const throttled = await explain({
      refused: true,
      status: 429,
      reason: 'Too Many Requests',
      retryAfter: '2',
    });
    assert.equal(throttled.code, 'TOKEN_ENDPOINT_FAILED');
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.retryAfterMs, 2000);
    const failing = await explain({ refused: true, status: 503, reason: 'unavailable' });
    assert.equal(failing.retryable, true);
    assert.equal(classifyFailure(failing).status, 503);
  });

  it('no answer: a network failure, retried', async () => {
    const error = await explain({ networkCode: 'ECONNREFUSED' });
    assert.equal(error.retryable, true);
    assert.equal(classifyFailure(error).reason, 'network');
  });

  it('an endpoint that answers now, or nothing to ask: the endpoint failed, and the SDK does not say how', async () => {
    for (const outcome of [{ refused: false, status: 200 } as const, undefined]) {
      const error = await explain(outcome);
      assert.equal(error.retryable, true);
      assert.equal(classifyFailure(error).reason, 'endpoint');
    }
  });

  it('asks the endpoint only when the chain reached it', async () => {
    let asked = false;
    const error = await explainCredentialFailure(chainGaveUp(), {
      where: 'RDS IAM signing',
      reached: 'instance-metadata',
      env: podEnv,
      probe: async () => {
        asked = true;
        return undefined;
      },
    });
    assert.equal(asked, false);
    assert.equal(error.code, 'CREDENTIAL_UNAVAILABLE');
  });
});

describe('probeContainerEndpoint against the emulator', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', backend: 'pglite' });
  });
  after(() => emulator?.stop());

  it('asks as fromHttp does: the endpoint’s answer, a refusal’s reason, and never a URL fromHttp refuses', async () => {
    const env = emulator.env;
    assert.deepEqual(await probeContainerEndpoint(env), { refused: false, status: 200 });
    assert.deepEqual(await probeContainerEndpoint({ ...env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong' }), {
      refused: true,
      status: 401,
      reason: 'Unauthorized: the Authorization header does not match AWS_CONTAINER_AUTHORIZATION_TOKEN.',
      retryAfter: undefined,
    });
    const before = emulator.identityRequests().length;
    const elsewhere = env.AWS_CONTAINER_CREDENTIALS_FULL_URI?.replace('127.0.0.1', 'metadata.example.com');
    assert.equal(
      await probeContainerEndpoint({ ...env, AWS_CONTAINER_CREDENTIALS_FULL_URI: elsewhere }),
      undefined,
    );
    assert.equal(emulator.identityRequests().length, before, 'plain http to another host: not asked');
    assert.equal(await probeContainerEndpoint({}), undefined);
  });
});
