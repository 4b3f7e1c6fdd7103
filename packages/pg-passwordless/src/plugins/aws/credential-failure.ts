import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { type FailureHints, failureToError } from '../../core/failure-error.ts';
import { type ProbeOutcome, probeContainerEndpoint } from './container-probe.ts';
import type { ChainSourceName } from './default-chain.ts';

const HINTS: FailureHints = {
  unavailable:
    'Give the workload an IAM role (ECS task role, EKS Pod Identity or IRSA, EC2 instance profile) allowed rds-db:connect, or start `npx pg-passwordless-emulator --cloud aws`.',
  rejected:
    'The credentials endpoint refused the request: check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) and the task role.',
  transient:
    'The credentials endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.',
  config:
    'Set PG_PASSWORDLESS_AWS_REGION or AWS_REGION, or connect with the RDS endpoint name (it contains the region).',
};

/** What went wrong, and where: the source the chain reached, and the environment the SDK read. */
export interface FailureContext {
  /** Where tokens come from (the token source's description). */
  where: string;
  reached: ChainSourceName | undefined;
  /** The hints of the shared classification for the database signed for (default: RDS's). */
  hints?: FailureHints;
  env?: Env;
  /** Asks the container endpoint for what the chain dropped (injected by tests). */
  probe?: (env: Env) => Promise<ProbeOutcome | undefined>;
}

/**
 * Turns what the AWS SDK threw while getting credentials into a PasswordlessError that says what to fix:
 * an unreadable token file (IRSA, EKS Pod Identity), STS refusing the web identity token (its code and
 * words, and what each means for the role or the cluster), the container endpoint refusing the
 * authorization token (its status and reason, which the chain drops: asked once more), else the shared
 * classification with the plugin's hints (RDS's, or the context's for another database).
 *
 * @example
 * const sts = Object.assign(new Error('Not authorized to perform sts:AssumeRoleWithWebIdentity'), {
 *   name: 'AccessDenied',
 *   $metadata: { httpStatusCode: 403 },
 * });
 * const error = await explainCredentialFailure(sts, {
 *   where: 'RDS IAM signing',
 *   reached: 'web-identity',
 *   env: { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/orders' },
 * });
 * console.log(error.code, error.retryable, error.hint?.startsWith('The role arn:aws:iam::123456789012:role/orders')); // TOKEN_ENDPOINT_FAILED false true
 */
export async function explainCredentialFailure(
  error: unknown,
  context: FailureContext,
): Promise<PasswordlessError> {
  if (error instanceof PasswordlessError) return error;
  const env = context.env ?? process.env;
  const explained =
    tokenFileFailure(error, context.where, env) ??
    (context.reached === 'web-identity' ? stsRefusal(error, context.where, env) : undefined) ??
    (context.reached === 'container'
      ? await containerFailure(error, context, env, context.probe ?? probeContainerEndpoint)
      : undefined);
  return (
    explained ??
    failureToError(error, context.where, context.hints ?? HINTS, {
      endpointContacted: context.reached === 'container',
    })
  );
}

/** The SDK reads both token files itself and lets a read error through as it is (ENOENT, EACCES). */
function tokenFileFailure(error: unknown, where: string, env: Env): PasswordlessError | undefined {
  const { code, path } = error as { code?: unknown; path?: unknown };
  if (typeof code !== 'string' || typeof path !== 'string') return undefined;
  const variable = (['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'] as const).find(
    (name) => env[name] === path,
  );
  if (!variable) return undefined;
  const hint =
    variable === 'AWS_WEB_IDENTITY_TOKEN_FILE'
      ? 'IRSA mounts the projected token (/var/run/secrets/eks.amazonaws.com/serviceaccount/token) in pods whose service account has the eks.amazonaws.com/role-arn annotation: check the annotation, the volume, and that the file is readable by this user.'
      : 'EKS Pod Identity mounts the token (/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token) in pods whose service account has a pod identity association: check the association (aws eks list-pod-identity-associations), the volume, and that the file is readable by this user.';
  return new PasswordlessError(
    'CREDENTIAL_UNAVAILABLE',
    `${where}: ${variable} (${path}) cannot be read (${code}).`,
    { cause: error, hint },
  );
}

/** STS's answer to AssumeRoleWithWebIdentity, by its code: the token, its expiry, or the role's trust. */
function stsRefusal(error: unknown, where: string, env: Env): PasswordlessError | undefined {
  const { name, message, $metadata } = error as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = $metadata?.httpStatusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500 || status === 429) return undefined;
  // The SDK names an error by its code (AccessDenied), or by its class for STS's modelled errors
  // (InvalidIdentityTokenException for InvalidIdentityToken): the hints go by the code.
  const code = String(name).replace(/Exception$/, '');
  const file = env.AWS_WEB_IDENTITY_TOKEN_FILE ?? '(AWS_WEB_IDENTITY_TOKEN_FILE)';
  const role = env.AWS_ROLE_ARN ?? '(AWS_ROLE_ARN)';
  const hints: Record<string, string> = {
    ExpiredToken: `The web identity token in ${file} has expired: the kubelet rewrites a projected token before it expires, so a copied file, or one from a volume that is not projected, goes stale; mount the service account token as a projected volume.`,
    InvalidIdentityToken: `STS does not trust the token in ${file}: the account needs an IAM OIDC provider for the cluster's issuer (eksctl utils associate-iam-oidc-provider), with sts.amazonaws.com as its audience, and the token must be one that issuer signed for that audience.`,
    ValidationError: `STS refused a parameter the SDK sent: AWS_ROLE_SESSION_NAME (${env.AWS_ROLE_SESSION_NAME ?? 'unset'}) must be 2 to 64 letters, digits or _+=,.@- when set.`,
    AccessDenied: `The role ${role} does not trust this token: its trust policy must allow sts:AssumeRoleWithWebIdentity for the cluster's OIDC provider, with <issuer>:sub = system:serviceaccount:<namespace>:<name> and <issuer>:aud = sts.amazonaws.com; and AWS_ROLE_ARN must name that role (the service account's eks.amazonaws.com/role-arn annotation).`,
  };
  return new PasswordlessError(
    'TOKEN_ENDPOINT_FAILED',
    `${where}: STS refused AssumeRoleWithWebIdentity with ${status} ${String(name)}: ${String(message).split('\n')[0]}`,
    {
      cause: error,
      hint:
        hints[code] ??
        `STS refused the web identity token in ${file} for the role ${role}: see STS's words above.`,
    },
  );
}

/** The chain dropped the container endpoint's answer: ask it once more, and say what it says. */
async function containerFailure(
  error: unknown,
  context: FailureContext,
  env: Env,
  probe: (env: Env) => Promise<ProbeOutcome | undefined>,
): Promise<PasswordlessError | undefined> {
  const outcome = await probe(env).catch(() => undefined);
  if (!outcome || ('refused' in outcome && !outcome.refused)) return undefined;
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const endpoint = relative
    ? `http://169.254.170.2${relative}`
    : (env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '');
  if ('networkCode' in outcome) {
    const networkError = Object.assign(new Error(`${endpoint}: ${outcome.networkCode}`), {
      code: outcome.networkCode,
      cause: error,
    });
    return failureToError(networkError, context.where, context.hints ?? HINTS);
  }
  const { status, reason } = outcome;
  if (status === 429 || status === 408 || status >= 500) {
    const answered = Object.assign(new Error(`${endpoint}: ${status} ${reason}`), {
      status,
      headers: outcome.retryAfter ? { 'retry-after': outcome.retryAfter } : {},
      cause: error,
    });
    return failureToError(answered, context.where, context.hints ?? HINTS);
  }
  const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  const podIdentityHint = /expired/i.test(reason)
    ? `The token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (${tokenFile}) has expired: the kubelet rewrites a projected token before it expires, so a copied file, or one from a volume that is not projected, goes stale.`
    : `The EKS Pod Identity agent refused the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (${tokenFile}): it must be the pod's current service-account token for the audience pods.eks.amazonaws.com, and the service account needs a pod identity association (aws eks list-pod-identity-associations).`;
  return new PasswordlessError(
    'TOKEN_ENDPOINT_FAILED',
    `${context.where}: the container credentials endpoint ${endpoint} refused the request with ${status}: ${reason}`,
    {
      // The status the chain dropped, where the shared classification finds it.
      cause: Object.assign(new Error(`${endpoint}: ${status} ${reason}`), { status, cause: error }),
      hint: tokenFile
        ? podIdentityHint
        : 'The endpoint refused AWS_CONTAINER_AUTHORIZATION_TOKEN: ECS sets it for the task; a copied or stale value is refused. Check the task role too.',
    },
  );
}
