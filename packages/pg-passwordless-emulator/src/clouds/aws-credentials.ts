import { randomBytes } from 'node:crypto';

/** The secret half of a credential set, as the gateway checks a token signed with it. */
export interface IssuedCredentials {
  secretAccessKey: string;
  sessionToken: string;
  expiresAtMs: number;
}

/** One set of temporary credentials, as an identity endpoint hands it out. */
export interface CredentialSet extends IssuedCredentials {
  accessKeyId: string;
}

/** The credentials this emulator has handed out (by access key id), and the set handed out last. */
export interface CredentialIssuer {
  /** The set handed out last (one exists from the start, for tests that sign without asking). */
  current(): CredentialSet;
  /** A fresh set, which becomes the current one; earlier sets stay valid until they expire. */
  issue(lifetimeMs?: number): CredentialSet;
  issuedFor(accessKeyId: string): IssuedCredentials | undefined;
}

/**
 * Issues temporary credentials (an `ASIA…` access key id, a secret, a session token, an expiry) and
 * remembers every set, so that the gateway can check a token signed with any of them until it expires.
 *
 * @example
 * const issuer = createCredentialIssuer(() => 0, 3_600_000);
 * const first = issuer.current();
 * const second = issuer.issue(60_000);
 * console.log(first.accessKeyId.startsWith('ASIA'), second.expiresAtMs); // true 60000
 * console.log(issuer.issuedFor(first.accessKeyId)?.expiresAtMs, issuer.current() === second); // 3600000 true
 */
export function createCredentialIssuer(now: () => number, defaultLifetimeMs: number): CredentialIssuer {
  const issued = new Map<string, CredentialSet>();
  let current: CredentialSet;
  const issue = (lifetimeMs = defaultLifetimeMs): CredentialSet => {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const set = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      expiresAtMs: now() + lifetimeMs,
    };
    issued.set(accessKeyId, set);
    current = set;
    return set;
  };
  issue();
  return { current: () => current, issue, issuedFor: (accessKeyId) => issued.get(accessKeyId) };
}
