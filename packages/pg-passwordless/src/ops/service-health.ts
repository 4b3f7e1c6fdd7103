import type { Probe, ProbeResult } from './http-endpoints.ts';
import type { TokenHealth } from './token-health.ts';

/**
 * How the last login to the server ended. `lasting`: trying again cannot mend it (the server refused
 * a new token too, or wants another authentication method, or its certificate is not trusted).
 */
export type LoginHealth = { ok: true } | { ok: false; lasting: boolean; reason: string };

/** One database a command serves: its token, and how its last login to the server went. */
export interface HealthTarget {
  /** How the target reads in a reason: `orders-api@db.example.com:5432/orders`. */
  name: string;
  token: TokenHealth;
  /** Undefined before the first login. */
  lastLogin?: () => LoginHealth | undefined;
}

/** The probes of a command, and the two moments that change them. */
export interface ServiceHealth {
  probes: { startup: Probe; liveness: Probe; readiness: Probe };
  /** Every target has its first token and its listener: startup passes from now on. */
  started(): void;
  /** The shutdown grace began: readiness fails from now on, so the platform sends no one new. */
  draining(): void;
}

/**
 * The probes of a command serving one or more targets, as Kubernetes reads them: startup passes once
 * every target has its first token and listens; liveness while the process serves (a stuck identity
 * endpoint is no reason to restart it); readiness while every target holds a usable token (or can
 * fetch one) and its last login did not fail for a lasting reason, and never during the shutdown grace.
 *
 * @example
 * const health = createServiceHealth([]);
 * console.log(await health.probes.startup()); // { ok: false, reason: 'starting: the first tokens and the listeners are not ready yet' }
 * health.started();
 * console.log(await health.probes.readiness()); // { ok: true }
 * health.draining();
 * console.log(await health.probes.readiness(), await health.probes.liveness()); // { ok: false, reason: 'shutting down: no new sessions' } { ok: true }
 */
export function createServiceHealth(targets: readonly HealthTarget[]): ServiceHealth {
  let phase: 'starting' | 'serving' | 'draining' = 'starting';
  const starting: ProbeResult = {
    ok: false,
    reason: 'starting: the first tokens and the listeners are not ready yet',
  };
  return {
    probes: {
      startup: () => (phase === 'starting' ? starting : { ok: true }),
      liveness: () => ({ ok: true }),
      readiness: () => {
        if (phase === 'starting') return starting;
        if (phase === 'draining') return { ok: false, reason: 'shutting down: no new sessions' };
        const reasons = targets.flatMap((target) => notReady(target));
        return reasons.length === 0 ? { ok: true } : { ok: false, reason: reasons.join('; ') };
      },
    },
    started: () => {
      if (phase === 'starting') phase = 'serving';
    },
    draining: () => {
      phase = 'draining';
    },
  };
}

/** Why one target is not ready: its token, then its last login; nothing when it is. */
function notReady(target: HealthTarget): string[] {
  const token = target.token.check();
  if (!token.ok) return [`${target.name}: ${token.reason}`];
  const login = target.lastLogin?.();
  if (login && !login.ok && login.lasting) return [`${target.name}: ${login.reason}`];
  return [];
}
