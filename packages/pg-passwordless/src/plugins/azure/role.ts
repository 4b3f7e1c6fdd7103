import type { RoleChoice } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { readJwtClaims } from '../../core/jwt-claims.ts';

/**
 * The PostgreSQL role name for an Entra token, where the token says it reliably, and the claim it came
 * from:
 * - a person (`idtyp=user` or a `upn` claim): the UPN, which is the role name Azure expects;
 * - a managed identity: the last segment of `xms_mirid`, the identity's resource name, which is its
 *   display name (for a system-assigned identity, the name of the app that owns it).
 * Anything else (a service principal's display name is not in its token) gets a clear error.
 *
 * @example
 * roleFromClaims({ xms_mirid: '/subscriptions/s/resourcegroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-api' })
 * // { name: 'orders-api', from: "the token's xms_mirid claim (the managed identity's name)" }
 */
export function roleFromClaims(claims: Record<string, unknown> | undefined): RoleChoice {
  const text = (name: string) => (typeof claims?.[name] === 'string' ? (claims[name] as string) : undefined);
  if (text('upn')) return { name: text('upn') as string, from: "the token's upn claim" };
  if (text('idtyp') === 'user' && text('unique_name'))
    return { name: text('unique_name') as string, from: "the token's unique_name claim (a user)" };
  const name = text('xms_mirid')?.split('/').filter(Boolean).pop();
  if (name) return { name, from: "the token's xms_mirid claim (the managed identity's name)" };
  const oid = text('oid') ?? '<object id>';
  throw new PasswordlessError(
    'USER_MISSING',
    'The connection URL names no user, and the token does not say which role name to use.',
    {
      hint:
        `Put the role name in the URL (postgresql://<role>@host/db). To create a role for this identity, run as an Entra admin in the postgres database: ` +
        `select * from pgaadauth_create_principal_with_oid('<role>', '${oid}', 'service', false, false);`,
    },
  );
}

/**
 * The role named by the token, for a URL that names none. Failing to fetch it fails closed
 * (USER_MISSING): carrying on without a user would log in as whatever PGUSER or the OS user happens to be.
 */
export async function roleFromToken(getToken: () => Promise<string>): Promise<RoleChoice> {
  let token: string;
  try {
    token = await getToken();
  } catch (cause) {
    throw new PasswordlessError(
      'USER_MISSING',
      'The connection URL names no user, and the token that would name the role could not be fetched.',
      {
        cause,
        hint: 'Put the role name in the URL (postgresql://<role>@host/db) so start-up does not depend on the identity endpoint; see the cause for why the fetch failed.',
      },
    );
  }
  return roleFromClaims(readJwtClaims(token));
}
