// The two identity paths of EKS, through createPool and the real AWS SDK's default chain, against the
// emulator: IRSA (a web identity token file exchanged at STS) and EKS Pod Identity (the agent's
// endpoint with a token file). Each scenario runs in its own process with the emulator's environment,
// as a pod would (the SDK reads its sources from process.env). Then each failure the emulator can
// produce, as the error a user gets; and a live pool whose credentials expire under it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../helpers/run-scenario.ts';

type Kind = 'web-identity' | 'pod-identity';

/** The identity request each path sends for credentials. */
const CREDENTIAL_PATHS: Record<Kind, RegExp> = {
  'web-identity': /^\/aws\/sts\/?$/,
  'pod-identity': /^\/v1\/credentials$/,
};

interface TokenError {
  failed: boolean;
  code?: string;
  retryable?: boolean;
  reason?: string;
  status?: number;
  message?: string;
  hint?: string;
}

/** One token fetch in its own process, as a new connection asks for it; the error it ends with. */
async function tokenError(env: Record<string, string>): Promise<TokenError> {
  const result = await runScenario('aws-identity.ts', ['token-error'], env);
  assert.equal(result.code, 0, result.stderr);
  return result.output as unknown as TokenError;
}

const credentialRequests = (emulator: Emulator, kind: Kind) =>
  emulator.identityRequests().filter((request) => CREDENTIAL_PATHS[kind].test(request.path)).length;

for (const kind of ['web-identity', 'pod-identity'] as const) {
  describe(`${kind}: createPool through the default chain`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'aws', awsCredential: kind });
    });
    after(() => emulator?.stop());

    it('50 cold connections log in as the IAM user with one token and one credentials request', async () => {
      const before = credentialRequests(emulator, kind);
      const result = await runScenario('aws-identity.ts', ['pool'], {
        ...emulator.env,
        SCENARIO_CONNECTIONS: '50',
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.output, { role: 'app_user', connections: 50, fetches: 1 });
      assert.equal(credentialRequests(emulator, kind) - before, 1);
    });

    it('a missing token file: no credentials here, not retried, naming the variable and the file', async () => {
      const variable =
        kind === 'web-identity' ? 'AWS_WEB_IDENTITY_TOKEN_FILE' : 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
      const error = await tokenError({ ...emulator.env, [variable]: '/nonexistent/token' });
      assert.equal(error.code, 'CREDENTIAL_UNAVAILABLE');
      assert.equal(error.retryable, false);
      assert.match(
        error.message ?? '',
        new RegExp(`${variable} \\(/nonexistent/token\\) cannot be read \\(ENOENT\\)`),
      );
      assert.match(
        error.hint ?? '',
        kind === 'web-identity' ? /eks\.amazonaws\.com\/role-arn/ : /pod identity association/,
      );
    });

    it('an expired token in the file: refused, not retried, with the words of the side that refused it', async () => {
      await emulator.aws?.writeTokenFile({ lifetimeSeconds: -60 });
      const before = credentialRequests(emulator, kind);
      try {
        const error = await tokenError(emulator.env);
        assert.equal(error.code, 'TOKEN_ENDPOINT_FAILED');
        assert.equal(error.retryable, false);
        assert.equal(error.reason, 'rejected');
        assert.equal(error.status, 400);
        if (kind === 'web-identity') {
          assert.match(
            error.message ?? '',
            /STS refused AssumeRoleWithWebIdentity with 400 ExpiredTokenException: Token expired: current date\/time \d+ must be before/,
          );
          assert.match(error.hint ?? '', /has expired: the kubelet rewrites a projected token/);
          assert.equal(
            credentialRequests(emulator, kind) - before,
            1,
            'one request: a refusal is not retried',
          );
        } else {
          assert.match(
            error.message ?? '',
            /refused the request with 400: Service account token failed basic claim validations: token is expired$/,
          );
          assert.match(
            error.hint ?? '',
            /The token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(.*\) has expired: the kubelet rewrites/,
          );
          // fromHttp, then fromContainerMetadata (no token), then our request for the status they dropped.
          assert.equal(
            credentialRequests(emulator, kind) - before,
            3,
            'one attempt: a refusal is not retried',
          );
        }
      } finally {
        await emulator.aws?.writeTokenFile();
      }
    });

    it('a token for another audience: refused as the cloud refuses it', async () => {
      await emulator.aws?.writeTokenFile({ audience: 'api://elsewhere' });
      try {
        const error = await tokenError(emulator.env);
        assert.equal(error.code, 'TOKEN_ENDPOINT_FAILED');
        assert.equal(error.retryable, false);
        if (kind === 'web-identity') {
          assert.match(error.message ?? '', /400 InvalidIdentityTokenException: Incorrect token audience$/);
          assert.match(error.hint ?? '', /IAM OIDC provider for the cluster's issuer/);
        } else {
          assert.match(
            error.message ?? '',
            /\(InvalidTokenException\): The specified Kubernetes service account token is invalid\./,
          );
          assert.match(
            error.hint ?? '',
            /for the audience pods\.eks\.amazonaws\.com, and the service account needs a pod identity association/,
          );
        }
      } finally {
        await emulator.aws?.writeTokenFile();
      }
    });

    if (kind === 'web-identity') {
      it('a role that does not trust the token: 403 AccessDenied, and what its trust policy needs', async () => {
        const role = 'arn:aws:iam::000000000000:role/reporting';
        const error = await tokenError({ ...emulator.env, AWS_ROLE_ARN: role });
        assert.equal(error.code, 'TOKEN_ENDPOINT_FAILED');
        assert.equal(error.status, 403);
        assert.match(
          error.message ?? '',
          /403 AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity$/,
        );
        assert.ok(error.hint?.startsWith(`The role ${role} does not trust this token`), error.hint);
        assert.match(error.hint ?? '', /system:serviceaccount:<namespace>:<name>/);
      });

      it('a session name STS does not take: its ValidationError, and the variable to fix', async () => {
        const error = await tokenError({ ...emulator.env, AWS_ROLE_SESSION_NAME: 'orders api' });
        assert.equal(error.status, 400);
        assert.match(
          error.message ?? '',
          /400 ValidationError: 1 validation error detected: Value 'orders api' at 'roleSessionName'/,
        );
        assert.match(
          error.hint ?? '',
          /AWS_ROLE_SESSION_NAME \(orders api\) must be 2 to 64 letters, digits or _\+=,\.@-/,
        );
      });
    }

    it('after the failures, the next fetch succeeds', async () => {
      assert.deepEqual(await tokenError(emulator.env), { failed: false });
    });
  });

  describe(`${kind}: credentials that expire under a live pool`, () => {
    const lifetimeSeconds = 15;
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({
        cloud: 'aws',
        awsCredential: kind,
        awsCredentialLifetimeSeconds: lifetimeSeconds,
      });
    });
    after(() => emulator?.stop());

    it('every new connection logs in, no token outlives the credentials that signed it, one request per renewal', async () => {
      const result = await runScenario(
        'aws-identity.ts',
        ['live-pool'],
        {
          ...emulator.env,
          SCENARIO_REFRESHES: '3',
          SCENARIO_DEADLINE_MS: String(10 * lifetimeSeconds * 1000),
        },
        15 * lifetimeSeconds * 1000,
      );
      assert.equal(result.code, 0, result.stderr);
      const live = result.output as {
        queries: number;
        failures: string[];
        refreshes: number;
        invalidations: number;
        expiredWhileLive: number;
      };
      assert.deepEqual(live.failures, []);
      assert.equal(live.refreshes, 3, 'the token was renewed before each set of credentials expired');
      assert.ok(
        live.expiredWhileLive >= 2,
        `${live.expiredWhileLive} sets of credentials expired while the pool ran`,
      );
      // Never handed out too late: the server refused no login, so none was retried with a new token.
      assert.equal(emulator.counters().gateway.loginsRejected, 0);
      assert.equal(live.invalidations, 0);
      assert.equal(emulator.counters().gateway.loginsAccepted, live.queries);
      // The first fetch, then one request per renewal: the SDK's own background renewal is not started.
      assert.equal(credentialRequests(emulator, kind), 1 + live.refreshes);
    });
  });
}
