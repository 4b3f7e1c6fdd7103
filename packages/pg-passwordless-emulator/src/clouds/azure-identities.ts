import { randomUUID } from 'node:crypto';

/** The emulator's tenant and subscription (fixed, so that tokens look the same run to run). */
export const EMULATOR_TENANT_ID = '72f988bf-0000-4000-8000-00000000e1e1';
export const EMULATOR_SUBSCRIPTION_ID = '00000000-0000-4000-8000-0000000005ab';
const RESOURCE_GROUP = 'pg-passwordless-emulator';

/** A managed identity as Entra knows it. */
export interface ManagedIdentity {
  /** Display name = the PostgreSQL role name Azure expects. */
  name: string;
  kind: 'system' | 'user';
  clientId: string;
  objectId: string;
  /** The ARM resource id, the token's `xms_mirid`. */
  resourceId: string;
}

/**
 * Makes an identity with fresh ids. A system-assigned identity belongs to an app (its name is the app's
 * name); a user-assigned one is a resource of its own.
 *
 * @example
 * const identity = makeIdentity('orders-api', 'user');
 * console.log(identity.resourceId.split('/providers/')[1]);
 * // Microsoft.ManagedIdentity/userAssignedIdentities/orders-api
 */
export function makeIdentity(
  name: string,
  kind: 'system' | 'user',
  ids: Partial<Pick<ManagedIdentity, 'clientId' | 'objectId'>> = {},
): ManagedIdentity {
  const base = `/subscriptions/${EMULATOR_SUBSCRIPTION_ID}/resourcegroups/${RESOURCE_GROUP}/providers`;
  const resourceId =
    kind === 'system'
      ? `${base}/Microsoft.Web/sites/${name}`
      : `${base}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
  return {
    name,
    kind,
    clientId: ids.clientId ?? randomUUID(),
    objectId: ids.objectId ?? randomUUID(),
    resourceId,
  };
}

/**
 * An application's service principal, as an app registration creates it: it signs in at the token
 * endpoint with a client secret or a certificate, and its tokens carry no `xms_mirid` (it is no Azure
 * resource). Its display name is the PostgreSQL role name Azure expects.
 */
export interface ServicePrincipal {
  name: string;
  kind: 'application';
  clientId: string;
  objectId: string;
}

/** Anything Entra issues app-only tokens to here: a managed identity or an application. */
export type EntraPrincipal = ManagedIdentity | ServicePrincipal;

/**
 * Makes an application's service principal with fresh ids.
 *
 * @example
 * const principal = makeServicePrincipal('orders-api');
 * console.log(principal.kind, principal.clientId !== principal.objectId); // application true
 */
export function makeServicePrincipal(
  name: string,
  ids: Partial<Pick<ServicePrincipal, 'clientId' | 'objectId'>> = {},
): ServicePrincipal {
  return {
    name,
    kind: 'application',
    clientId: ids.clientId ?? randomUUID(),
    objectId: ids.objectId ?? randomUUID(),
  };
}

/** Which identity a managed-identity request asks for: none given means the system-assigned one. */
export interface IdentitySelector {
  clientId?: string;
  resourceId?: string;
  objectId?: string;
}

/** Finds the identity a request selects, case-insensitively as Azure does for ids. */
export function selectIdentity(
  identities: readonly ManagedIdentity[],
  selector: IdentitySelector,
): ManagedIdentity | undefined {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (selector.clientId)
    return identities.find((identity) => same(identity.clientId, selector.clientId as string));
  if (selector.resourceId)
    return identities.find((identity) => same(identity.resourceId, selector.resourceId as string));
  if (selector.objectId)
    return identities.find((identity) => same(identity.objectId, selector.objectId as string));
  return identities.find((identity) => identity.kind === 'system');
}
