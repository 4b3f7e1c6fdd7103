import { randomBytes, randomUUID } from 'node:crypto';
import { type Route, type RouteAnswer, readRequestBody } from '../identity-server.ts';
import type { CredentialIssuer, CredentialSet } from './aws-credentials.ts';
import { STS_WEB_IDENTITY, type StsRefusal, stsRefusals } from './aws-facts.ts';
import type { EksCluster, ServiceAccountVerdict } from './aws-service-account.ts';

/** Where the emulator serves STS (`AWS_ENDPOINT_URL_STS` names it). */
export const STS_PATH = '/aws/sts';

/** What STS needs of the emulator: the cluster whose tokens it trusts, the role, and the credential issuer. */
export interface StsState {
  cluster: EksCluster;
  /** The one role whose trust policy names the cluster's provider, audience and service account. */
  roleArn: string;
  credentials: CredentialIssuer;
  /** A lifetime set on the emulator wins over `DurationSeconds`, even under STS's 900 s floor (a test's knob). */
  lifetimeSeconds: number | undefined;
  now(): number;
  onIssued(): void;
}

/**
 * AWS STS, as much of it as IRSA uses: `AssumeRoleWithWebIdentity` over the Query API, trusting the
 * emulated cluster's OIDC provider for the audience `sts.amazonaws.com`, for the one role whose trust
 * policy names the cluster's service account. Refusals carry STS's codes and texts (`aws-facts.ts`).
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 * const { readFileSync } = await import('node:fs');
 *
 * // What the SDK's fromTokenFile sends, here by hand to the emulator's STS.
 * const emulator = await startEmulator({ cloud: 'aws', awsCredential: 'web-identity', backend: 'pglite' });
 * const { AWS_ENDPOINT_URL_STS, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE } = emulator.env;
 * const form = new URLSearchParams({
 *   Action: 'AssumeRoleWithWebIdentity',
 *   Version: '2011-06-15',
 *   RoleArn: AWS_ROLE_ARN ?? '',
 *   RoleSessionName: 'example',
 *   WebIdentityToken: readFileSync(AWS_WEB_IDENTITY_TOKEN_FILE ?? '', 'ascii'),
 * });
 * const answer = await fetch(AWS_ENDPOINT_URL_STS ?? '', { method: 'POST', body: form });
 * console.log(answer.status, /<AccessKeyId>ASIA/.test(await answer.text())); // 200 true
 * form.set('RoleArn', 'arn:aws:iam::000000000000:role/another');
 * const refused = await fetch(AWS_ENDPOINT_URL_STS ?? '', { method: 'POST', body: form });
 * console.log(refused.status, /<Code>AccessDenied<\/Code>/.test(await refused.text())); // 403 true
 * await emulator.stop();
 */
export function stsRoute(state: StsState): Route {
  return {
    method: 'POST',
    faulty: true,
    matches: (path) => path === STS_PATH || path === `${STS_PATH}/`,
    handle: async (request) => {
      const requestId = randomUUID();
      const form = new URLSearchParams(await readRequestBody(request));
      const outcome = await assumeRole(state, form);
      if ('refusal' in outcome) return stsError(outcome.refusal, requestId);
      return stsAnswer(outcome, form.get('RoleSessionName') ?? '', requestId);
    },
  };
}

interface Assumed {
  roleArn: string;
  subject: string;
  issuer: string;
  credentials: CredentialSet;
}

/** STS's checks, in order: the request, the token's issuer and signature, its expiry and audience, the role's trust. */
async function assumeRole(
  state: StsState,
  form: URLSearchParams,
): Promise<Assumed | { refusal: StsRefusal }> {
  if (form.get('Action') !== STS_WEB_IDENTITY.action) return { refusal: stsRefusals.invalidAction };
  const [roleArn, sessionName, token] = ['RoleArn', 'RoleSessionName', 'WebIdentityToken'].map((name) =>
    form.get(name),
  );
  if (!roleArn || !sessionName || !token) return { refusal: stsRefusals.missingParameter };
  if (!STS_WEB_IDENTITY.roleSessionName.test(sessionName))
    return { refusal: stsRefusals.invalidSessionName(sessionName) };
  const verdict = await state.cluster.verifyToken(token);
  if (!verdict.ok) return { refusal: refusalOf(verdict) };
  const { claims } = verdict;
  const now = state.now();
  if (claims.exp * 1000 <= now) return { refusal: stsRefusals.expired(now, claims.exp * 1000) };
  if (!claims.aud.includes(STS_WEB_IDENTITY.audience)) return { refusal: stsRefusals.wrongAudience };
  if (roleArn !== state.roleArn || claims.sub !== state.cluster.subject)
    return { refusal: stsRefusals.notTrusted };
  const seconds =
    state.lifetimeSeconds ?? (Number(form.get('DurationSeconds')) || STS_WEB_IDENTITY.defaultDurationSeconds);
  const credentials = state.credentials.issue(seconds * 1000);
  state.onIssued();
  return { roleArn, subject: claims.sub, issuer: claims.iss, credentials };
}

function refusalOf(verdict: Extract<ServiceAccountVerdict, { ok: false }>): StsRefusal {
  return verdict.reason === 'foreign-issuer'
    ? stsRefusals.untrustedIssuer(verdict.issuer ?? '')
    : stsRefusals.unverifiable;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The sample answer of the API reference, with the cluster's subject and provider. */
function stsAnswer(assumed: Assumed, sessionName: string, requestId: string): RouteAnswer {
  const [, , , , account = '', resource = ''] = assumed.roleArn.split(':');
  const roleName = resource.split('/').at(-1) ?? '';
  const { credentials } = assumed;
  const body = `<AssumeRoleWithWebIdentityResponse xmlns="${STS_WEB_IDENTITY.xmlns}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${xml(assumed.subject)}</SubjectFromWebIdentityToken>
    <Audience>${STS_WEB_IDENTITY.audience}</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::${xml(account)}:assumed-role/${xml(roleName)}/${xml(sessionName)}</Arn>
      <AssumedRoleId>AROA${randomBytes(8).toString('hex').toUpperCase()}:${xml(sessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xml(credentials.sessionToken)}</SessionToken>
      <SecretAccessKey>${xml(credentials.secretAccessKey)}</SecretAccessKey>
      <Expiration>${new Date(credentials.expiresAtMs).toISOString()}</Expiration>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
    </Credentials>
    <Provider>${xml(assumed.issuer.replace(/^https:\/\//, ''))}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`;
  return { status: 200, headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId }, body };
}

/** STS's error document (`ErrorResponse > Error > Type, Code, Message`, `RequestId`). */
function stsError(refusal: StsRefusal, requestId: string): RouteAnswer {
  const body = `<ErrorResponse xmlns="${STS_WEB_IDENTITY.xmlns}">
  <Error>
    <Type>Sender</Type>
    <Code>${refusal.code}</Code>
    <Message>${xml(refusal.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
  return {
    status: refusal.status,
    headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId },
    body,
  };
}
