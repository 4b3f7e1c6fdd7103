import type { Env } from '../../core/connection-url.ts';
import type { FailureHints } from '../../core/failure-error.ts';
import type { EndpointAnswer } from './endpoint-answers.ts';

const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

/** The hints when nothing more precise is known. */
export const AZURE_HINTS: FailureHints = {
  unavailable:
    'On Azure, assign a managed identity to the app (and set PG_PASSWORDLESS_AZURE_CLIENT_ID for a user-assigned one), ' +
    'or set the workload identity or service principal variables; locally, run `az login` or start ' +
    '`npx pg-passwordless-emulator`. See https://aka.ms/azsdk/js/identity/troubleshoot',
  rejected: 'Check that the identity exists and may request this scope (client id, tenant, permissions).',
  transient:
    'The identity endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.',
};

/** What a failed token fetch comes down to, when something more precise than the generic hints is known. */
export interface EntraDiagnosis {
  /** What to fix. */
  hint: string;
  /** A token or certificate file the SDK could not read: no identity here, whatever the endpoint says. */
  unreadableFile?: string;
}

/**
 * What to fix, for a failed token fetch: Entra's refusal by its AADSTS code (from the answer the HTTP
 * pipeline saw, else from the SDK's message), or a token or certificate file that cannot be read;
 * undefined when nothing precise is known (the generic hints apply). The words name the variables the
 * user sets.
 *
 * @example
 * const diagnosis = diagnoseEntraFailure({
 *   error: new Error('AADSTS700016: Application with identifier ... was not found in the directory ...'),
 *   env: { AZURE_CLIENT_ID: '0b6f7e4c-1111-4000-8000-000000000001', AZURE_TENANT_ID: '72f988bf-0000-4000-8000-00000000e1e1' },
 * });
 * console.log(diagnosis?.hint.startsWith('AADSTS700016: Entra knows no application or managed identity with client id 0b6f7e4c-')); // true
 */
export function diagnoseEntraFailure(failure: {
  error: unknown;
  answer?: EndpointAnswer;
  env: Env;
}): EntraDiagnosis | undefined {
  const text = messagesOf(failure.error);
  const file = unreadableFile(text, failure.env);
  if (file) return file;
  const code = aadstsCode(failure.answer, text);
  const hint = refusalHint(code, failure.env);
  return hint ? { hint: `AADSTS${code}: ${hint}` } : undefined;
}

/**
 * The hints for a failure: the diagnosis, whatever the failure is classified as, else the generic ones.
 *
 * @example
 * console.log(hintsOf(undefined) === AZURE_HINTS, hintsOf({ hint: 'Fix it.' }).transient); // true Fix it.
 */
export function hintsOf(diagnosis: EntraDiagnosis | undefined): FailureHints {
  if (!diagnosis) return AZURE_HINTS;
  return { unavailable: diagnosis.hint, rejected: diagnosis.hint, transient: diagnosis.hint };
}

/** Entra's answers by AADSTS code: what each means here, and what to change. */
function refusalHint(code: number | undefined, env: Env): string | undefined {
  const clientId = env.AZURE_CLIENT_ID ?? '<client id>';
  const workload = Boolean(env.AZURE_FEDERATED_TOKEN_FILE) && !env.AZURE_CLIENT_SECRET;
  switch (code) {
    case 700016:
      return (
        `Entra knows no application or managed identity with client id ${clientId} in tenant ${env.AZURE_TENANT_ID ?? '<tenant>'}: ` +
        'set AZURE_CLIENT_ID to the identity’s client id (`az identity show --query clientId`, or the app registration’s Application ID) and AZURE_TENANT_ID to its tenant.'
      );
    case 90002:
      return `No tenant ${env.AZURE_TENANT_ID ?? ''} at ${env.AZURE_AUTHORITY_HOST ?? 'https://login.microsoftonline.com'}: check AZURE_TENANT_ID, and AZURE_AUTHORITY_HOST for a sovereign cloud.`;
    case 700024:
      return workload
        ? `The federated token in AZURE_FEDERATED_TOKEN_FILE (${env.AZURE_FEDERATED_TOKEN_FILE}) has expired: on AKS the kubelet renews the projected token (an hour by default) as long as the pod's azure-identity-token volume is mounted; a copied file that nothing renews expires. Check the volume, and this machine's clock.`
        : 'The client assertion is outside its valid time: check this machine’s clock (NTP).';
    case 70021:
      return (
        `No federated credential of client ${clientId} matches the token's issuer, subject and audience (the message names them; all must match exactly): ` +
        `create one for the cluster's OIDC issuer and system:serviceaccount:<namespace>:<service account> with the audience ${FEDERATION_AUDIENCE} ` +
        `(az identity federated-credential create --issuer ... --subject ... --audience ${FEDERATION_AUDIENCE}), and project the token for that audience.`
      );
    case 700027:
      return workload
        ? 'The federated token is not signed by the issuer the federated credential names: check the credential’s issuer (the cluster’s OIDC issuer URL, trailing slash included).'
        : `The certificate in AZURE_CLIENT_CERTIFICATE_PATH is not one of application ${clientId}'s credentials: upload it (az ad app credential reset --id ${clientId} --cert @<file> --append), or point the variable at the registered one.`;
    case 7000215:
    case 7000222:
      return `AZURE_CLIENT_SECRET is not a current secret of application ${clientId}: use the secret's value (not its id), or create one (az ad app credential reset --id ${clientId} --append).`;
    case 70011:
      return 'The scope must be one resource with /.default: check azure.scope.';
    default:
      return undefined;
  }
}

/** A token or certificate file the SDK could not read: which variable names it, and what to do. */
function unreadableFile(text: string, env: Env): EntraDiagnosis | undefined {
  const reason = /\b(ENOENT|EACCES|EISDIR|EPERM)\b|No content on the file/.exec(text)?.[0];
  if (!reason) return undefined;
  const token = env.AZURE_FEDERATED_TOKEN_FILE;
  if (token && text.includes(token)) {
    const unreadable = `AZURE_FEDERATED_TOKEN_FILE names ${token}, which cannot be read (${reason})`;
    return {
      unreadableFile: unreadable,
      hint:
        'On AKS, label the pod azure.workload.identity/use: "true" and run it under a service account annotated with ' +
        'azure.workload.identity/client-id, so the webhook mounts the token there; elsewhere, point AZURE_FEDERATED_TOKEN_FILE at the token file.',
    };
  }
  const certificate = env.AZURE_CLIENT_CERTIFICATE_PATH;
  if (!certificate || !text.includes(certificate)) return undefined;
  const unreadable = `AZURE_CLIENT_CERTIFICATE_PATH names ${certificate}, which cannot be read (${reason})`;
  return {
    unreadableFile: unreadable,
    hint: 'Point AZURE_CLIENT_CERTIFICATE_PATH at a PEM file holding the certificate and its private key.',
  };
}

function aadstsCode(answer: EndpointAnswer | undefined, text: string): number | undefined {
  if (answer?.errorCodes[0] !== undefined) return answer.errorCodes[0];
  const found = /AADSTS(\d+)/.exec(text)?.[1];
  return found === undefined ? undefined : Number(found);
}

/** Every message of the error graph (causes, aggregated errors), joined: the SDK words each failure in its own. */
function messagesOf(error: unknown, depth = 0): string {
  if (!error || typeof error !== 'object' || depth > 5) return '';
  const node = error as { message?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof node.message === 'string' ? node.message : '';
  const errors = Array.isArray(node.errors) ? node.errors : [];
  return [own, messagesOf(node.cause, depth + 1), ...errors.map((each) => messagesOf(each, depth + 1))].join(
    '\n',
  );
}
