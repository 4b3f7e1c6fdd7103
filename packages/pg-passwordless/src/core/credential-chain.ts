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

/** One source of a credential chain: what it finds when it applies, else why it is skipped. */
export type ChainSource = () => Omit<CredentialFinding, 'skipped'> | string;

/**
 * Walks a credential chain as the SDK does: the first source that applies answers, and every source
 * before it is listed with the reason it was skipped; `none` is the finding when no source applies.
 *
 * @example
 * const finding = firstSource([() => 'environment keys: not set', () => ({ ok: true, chosen: 'instance metadata' })]);
 * console.log(finding.chosen, finding.skipped); // instance metadata [ 'environment keys: not set' ]
 */
export function firstSource(
  sources: ChainSource[],
  none: Omit<CredentialFinding, 'skipped'> = {
    ok: false,
    chosen: 'none: no source of the credential chain applies',
  },
): CredentialFinding {
  const skipped: string[] = [];
  for (const source of sources) {
    const found = source();
    if (typeof found === 'string') skipped.push(found);
    else return { ...found, skipped };
  }
  return { ...none, skipped };
}
