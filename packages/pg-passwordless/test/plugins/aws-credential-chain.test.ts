// What the doctor says of the AWS default chain on EKS, from the environment and the token files alone
// (files injected): the source, its role or endpoint, its token file and what the token says, or why
// the SDK will fail on it. A token is never shown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeAwsCredential } from '../../src/plugins/aws/credential-chain.ts';

/** A JWT with these claims (its signature is nobody's: the doctor never checks it). */
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;
const inAnHour = Math.floor(Date.now() / 1000) + 3600;
const subject = 'system:serviceaccount:orders:api';

function describeWith(env: Record<string, string>, files: Record<string, string | Error>) {
  return describeAwsCredential({
    env,
    options: {},
    home: '/nowhere',
    fileExists: (path) => path in files,
    readFile: (path) => {
      const content = files[path];
      if (content instanceof Error) throw content;
      return content ?? '';
    },
  });
}

const irsa = {
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/orders',
};
const pod = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:
    '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
};

describe('describeAwsCredential on EKS', () => {
  it('IRSA: the role, the token file, and who the token is for', () => {
    const token = jwt({
      sub: subject,
      aud: ['sts.amazonaws.com'],
      iss: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC',
      exp: inAnHour,
    });
    const finding = describeWith(
      { ...irsa, AWS_ROLE_SESSION_NAME: 'orders-pod' },
      { [irsa.AWS_WEB_IDENTITY_TOKEN_FILE]: token },
    );
    assert.equal(finding.ok, true);
    assert.equal(
      finding.chosen,
      `web identity (IRSA: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): role arn:aws:iam::123456789012:role/orders, token file ${irsa.AWS_WEB_IDENTITY_TOKEN_FILE} (a token for ${subject}, audience sts.amazonaws.com, issuer https://oidc.eks.eu-west-1.amazonaws.com/id/ABC, expires in 1 h 0 min); session orders-pod`,
    );
    assert.equal(finding.hint, undefined);
    assert.doesNotMatch(JSON.stringify(finding), /eyJ|c2lnbmF0dXJl/);
  });

  it('IRSA: a missing, unreadable or expired token file is a failure, the SDK stopping there', () => {
    const missing = describeWith(irsa, {});
    assert.equal(missing.ok, false);
    assert.match(missing.chosen, /^web identity .*: the token file does not exist$/);
    assert.match(missing.hint ?? '', /eks\.amazonaws\.com\/role-arn annotation/);
    const denied = describeWith(irsa, {
      [irsa.AWS_WEB_IDENTITY_TOKEN_FILE]: Object.assign(new Error('permission denied'), { code: 'EACCES' }),
    });
    assert.equal(denied.ok, false);
    assert.match(denied.chosen, /the token file cannot be read \(EACCES\)$/);
    const expired = describeWith(irsa, {
      [irsa.AWS_WEB_IDENTITY_TOKEN_FILE]: jwt({
        sub: subject,
        aud: 'sts.amazonaws.com',
        exp: inAnHour - 7200,
      }),
    });
    assert.equal(expired.ok, false);
    assert.match(expired.chosen, /expired 1 h 0 min ago\)$/);
    assert.match(expired.hint ?? '', /STS refuses it \(ExpiredTokenException\)/);
  });

  it('IRSA: another audience is noted, not failed (an OIDC provider may list it)', () => {
    const finding = describeWith(irsa, {
      [irsa.AWS_WEB_IDENTITY_TOKEN_FILE]: jwt({ sub: subject, aud: 'api://other', exp: inAnHour }),
    });
    assert.equal(finding.ok, true);
    assert.match(finding.hint ?? '', /audience is not sts\.amazonaws\.com/);
  });

  it('EKS Pod Identity: the agent’s endpoint and the authorization token file, which wins over a token', () => {
    const token = jwt({ sub: subject, aud: ['pods.eks.amazonaws.com'], exp: inAnHour });
    const finding = describeWith(
      { ...pod, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ignored-by-the-sdk' },
      { [pod.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE]: token },
    );
    assert.equal(finding.ok, true);
    assert.equal(
      finding.chosen,
      `EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI): http://169.254.170.23/v1/credentials with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${pod.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE} (a token for ${subject}, audience pods.eks.amazonaws.com, expires in 1 h 0 min)`,
    );
    assert.doesNotMatch(JSON.stringify(finding), /ignored-by-the-sdk|eyJ/);
    const gone = describeWith(pod, {});
    assert.equal(gone.ok, false);
    assert.match(gone.hint ?? '', /pod identity association/);
  });

  it('web identity comes before container credentials, as in the SDK’s chain; ECS stays container credentials', () => {
    const token = jwt({ sub: subject, aud: 'sts.amazonaws.com', exp: inAnHour });
    const both = describeWith({ ...irsa, ...pod }, { [irsa.AWS_WEB_IDENTITY_TOKEN_FILE]: token });
    assert.match(both.chosen, /^web identity/);
    const ecs = describeWith(
      {
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'x',
      },
      {},
    );
    assert.equal(
      ecs.chosen,
      'container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI): http://169.254.170.2/v2/credentials/abc with AWS_CONTAINER_AUTHORIZATION_TOKEN',
    );
  });
});
