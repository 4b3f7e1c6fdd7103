import { PasswordlessError } from '../../core/errors.ts';

/**
 * The PostgreSQL role name for an Entra token, where the token says it reliably:
 * - a person (`idtyp=user` or a `upn` claim): the UPN, which is the role name Azure expects;
 * - a managed identity: the last segment of `xms_mirid`, the identity's resource name, which is its
 *   display name (for a system-assigned identity, the name of the app that owns it).
 * Anything else (a service principal's display name is not in its token) gets a clear error.
 *
 * @example
 * userFromClaims({ xms_mirid: '/subscriptions/s/resourcegroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-api' })
 * // 'orders-api'
 */
export function userFromClaims(claims: Record<string, unknown> | undefined): string {
  const text = (name: string) => (typeof claims?.[name] === 'string' ? (claims[name] as string) : undefined);
  const upn = text('upn') ?? (text('idtyp') === 'user' ? text('unique_name') : undefined);
  if (upn) return upn;
  const resourceId = text('xms_mirid');
  const name = resourceId?.split('/').filter(Boolean).pop();
  if (name) return name;
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
