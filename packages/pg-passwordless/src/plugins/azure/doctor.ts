import type { CloudDoctor, LoginContext, LoginDiagnosis, TokenFacts } from '../../core/doctor-hooks.ts';
import { expiryDiagnosis } from '../../core/doctor-readings.ts';
import { readJwtFacts } from '../../core/jwt-claims.ts';
import { describeAzureCredential } from './credential-chain.ts';
import type { AzureSettings } from './options.ts';
import { roleFromClaims } from './role.ts';
import { AZURE_POSTGRES_RESOURCES, azureScope, cloudOfHost } from './scope.ts';

/**
 * An Entra token's facts: the audience, tenant, object id, token type and the role name its claims
 * suggest (never its signature).
 *
 * @example
 * const payload = Buffer.from(JSON.stringify({ aud: 'https://ossrdbms-aad.database.windows.net', tid: 't', oid: 'o' })).toString('base64url');
 * console.log(readEntraToken(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`)?.tenantId); // t
 */
export function readEntraToken(token: string): TokenFacts | undefined {
  const jwt = readJwtFacts(token);
  if (!jwt) return undefined;
  const { claims, ...times } = jwt;
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  let suggestedRole: string | undefined;
  try {
    suggestedRole = roleFromClaims(claims).name;
  } catch {
    suggestedRole = undefined; // a service principal's token does not carry its display name
  }
  const facts = {
    ...times,
    tenantId: text('tid'),
    objectId: text('oid'),
    tokenType: text('idtyp'),
    suggestedRole,
  };
  const summary =
    `a JWT for audience ${facts.audience ?? '(none)'}, tenant ${facts.tenantId ?? '(none)'}, object id ${facts.objectId ?? '(none)'}` +
    (suggestedRole ? `, role name by its claims "${suggestedRole}"` : ', no role name in its claims');
  return { ...facts, summary };
}

/** The audience the settings ask for against the one the token carries and the one the host name suggests. */
function checkEntraToken(
  facts: TokenFacts,
  { target, options }: { target: { host: string; user?: string | undefined }; options: AzureSettings },
) {
  const notes: string[] = [];
  if (facts.kind !== 'jwt') return { notes };
  const requested = azureScope(target.host, options).replace(/\/\.default$/, '');
  const byHost = AZURE_POSTGRES_RESOURCES[cloudOfHost(target.host)];
  let code: string | undefined;
  let hint: string | undefined;
  if (facts.audience !== requested) {
    code = 'WRONG_AUDIENCE';
    hint = `The identity endpoint returned a token for ${String(facts.audience)}, not for ${requested}: check azure.scope and the identity endpoint.`;
  }
  if (requested !== byHost) notes.push(`the host name suggests ${byHost}, the settings ask for ${requested}`);
  if (facts.suggestedRole && target.user && facts.suggestedRole !== target.user)
    notes.push(
      `the login user is "${target.user}"; the claims name "${facts.suggestedRole}" (fine when the role is linked by object id)`,
    );
  return { code, hint, notes };
}

/** Azure Database for PostgreSQL's own words for a refused Entra login, named. */
function explainEntraRefusal(
  { message, said }: { message: string; said: string },
  context: LoginContext,
): LoginDiagnosis | undefined {
  const { user, token } = context;
  const objectId = (token?.objectId as string | undefined) ?? '<object id>';
  const audience = /valid audience claim.*resource "([^"]+)"/i.exec(message);
  if (audience) {
    const wanted = audience[1] as string;
    return {
      code: 'WRONG_AUDIENCE',
      detail: `${said}; the token is for ${(token?.audience as string | undefined) ?? 'another audience'}, the server wants ${wanted}`,
      hint:
        `Request the token for ${wanted}/.default: connect with the server's own host name (its suffix names the cloud), ` +
        `or set the cloud in code ({ azure: { cloud: 'usgov' | 'china' | 'public' } }) or the scope ({ azure: { scope: '${wanted}/.default' } }).`,
    };
  }
  if (/expired|AAD_AUTH_EXPIRED/i.test(message)) return expiryDiagnosis(said, context);
  if (/does not belong to role|object id does not match/i.test(message)) {
    return {
      code: 'ROLE_NOT_MAPPED',
      detail: `${said}; role "${user}" is linked to another identity than this token's (object id ${objectId})`,
      hint: `As an Entra admin, in the postgres database: select * from pgaadauth_create_principal_with_oid('${user}', '${objectId}', 'service', false, false); or log in as the role this identity has${token?.suggestedRole && token.suggestedRole !== user ? ` ("${token.suggestedRole}", by its claims)` : ''}.`,
    };
  }
  if (/cannot generate AAD_AUTH_TOKENTYPE/i.test(message)) {
    return {
      code: 'ROLE_TYPE_MISMATCH',
      detail: `${said}; role "${user}" was created for another kind of principal than this token's (${(token?.tokenType as string | undefined) ?? 'unknown'} token)`,
      hint: `Re-create the role with the right type: select * from pgaadauth_create_principal_with_oid('${user}', '${objectId}', '${token?.tokenType === 'app' ? 'service' : 'user'}', false, false);`,
    };
  }
  if (/tenant this server does not trust/i.test(message)) {
    return {
      code: 'WRONG_TENANT',
      detail: `${said}; the token's tenant is ${(token?.tenantId as string | undefined) ?? 'unknown'}`,
      hint: 'Use an identity of the server’s tenant (AZURE_TENANT_ID), or add the role from the right tenant.',
    };
  }
  if (/issuer is not valid|signature is invalid/i.test(message)) {
    return {
      code: 'TOKEN_INVALID',
      detail: said,
      hint: 'The token comes from another identity provider or cloud than the server trusts: check the sovereign cloud and the authority host.',
    };
  }
  return undefined;
}

/** What the doctor asks of the Azure cloud. */
export const azureDoctor: CloudDoctor<AzureSettings> = {
  describeCredential: describeAzureCredential,
  readToken: readEntraToken,
  checkToken: checkEntraToken,
  explainRefusal: explainEntraRefusal,
  roleMissingHint: ({ user, token }) => {
    const other =
      token?.suggestedRole && token.suggestedRole !== user
        ? ` The token's claims suggest the role "${token.suggestedRole}".`
        : '';
    return `Create the role for this identity as an Entra admin, in the postgres database: select * from pgaadauth_create_principal_with_oid('${user}', '${(token?.objectId as string | undefined) ?? '<object id>'}', 'service', false, false);${other}`;
  },
  caHint:
    'Azure: DigiCert Global Root G2 and Microsoft RSA Root CA 2017 are in the system store, so unset PGSSLROOTCERT',
};
