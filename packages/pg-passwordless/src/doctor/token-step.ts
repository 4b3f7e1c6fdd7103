import { cloudOptions } from '../core/cloud-connection.ts';
import type { TokenFacts } from '../core/doctor-hooks.ts';
import { describeFacts, errorStep, type StepLog } from './report.ts';
import type { SettingsOutcome } from './settings-step.ts';
import { inspectToken } from './token-facts.ts';

/** What the token step found: the token (never printed), what it says, and what its cloud added. */
export interface TokenOutcome {
  token: string;
  facts: TokenFacts;
  /** The cloud's facts for the target, including those that cost a request (a service account). */
  identityFacts: Record<string, string>;
}

const HINTS: Record<string, string> = {
  CLOCK_SKEW:
    'This machine’s clock and the identity endpoint’s differ: sync the clock (NTP: timedatectl set-ntp true, chronyd).',
  TOKEN_EXPIRED:
    'The token handed out has already expired: check this machine’s clock (NTP), and the identity endpoint’s.',
};

/** Step 3: a token fetched through the connection's own token handle, decoded, checked by its cloud, never shown. */
export async function tokenStep(
  log: StepLog,
  outcome: SettingsOutcome,
  now: () => number,
): Promise<TokenOutcome | undefined> {
  const params = outcome.connection?.params;
  const handle = params?.token;
  const getToken = handle ? () => handle.getToken() : params?.password;
  if (outcome.failed || !getToken) {
    log.add({
      step: 'token',
      status: 'skip',
      detail: outcome.failed ? 'the settings step failed' : 'no password function',
    });
    return undefined;
  }
  const { cloud, cloudResolution } = outcome;
  try {
    const token = await getToken();
    const facts = inspectToken(token, {
      now,
      expiresAtMs: handle?.expiresAtMs(),
      read: cloud?.doctor?.readToken,
    });
    const more = await cloudResolution?.identity.moreFacts?.().catch(() => ({}));
    const identityFacts = { ...cloudResolution?.identity.facts, ...more };
    const check = cloud?.doctor?.checkToken?.(facts, {
      target: outcome.target,
      options: cloudOptions(cloud, outcome.settings) as never,
    }) ?? { notes: [] };
    const code = facts.problem ?? check.code;
    const hint = (facts.problem ? HINTS[facts.problem] : undefined) ?? check.hint;
    const { summary, ...data } = facts;
    const notes = [...check.notes, ...(more && Object.keys(more).length > 0 ? [describeFacts(more)] : [])];
    log.add({
      step: 'token',
      status: code ? 'FAIL' : 'ok',
      code,
      detail: [summary, ...notes].join('; '),
      hint,
      data: { ...data, ...more },
    });
    return { token, facts, identityFacts };
  } catch (error) {
    log.add(errorStep('token', error));
    return undefined;
  }
}
