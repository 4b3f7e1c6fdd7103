import type { CredentialFinding } from './doctor-hooks.ts';

/**
 * The doctor's finding for a credential object given in code (`azure.credential`, `aws.credentials`):
 * the chain is not consulted, and the object's class names it.
 *
 * @example
 * class ClientSecretCredential {}
 * console.log(credentialInCode(new ClientSecretCredential()).chosen); // a credential passed in code (ClientSecretCredential)
 */
export function credentialInCode(credential: object): CredentialFinding {
  const name = (credential as { constructor?: { name?: string } }).constructor?.name;
  const label = name && name !== 'Object' && name !== 'Function' ? name : 'custom';
  return { ok: true, chosen: `a credential passed in code (${label})`, skipped: [] };
}
