import { cloudOptions } from '../core/cloud-connection.ts';
import type { Env } from '../core/connection-url.ts';
import { describeFacts, errorStep, type StepLog } from './report.ts';
import type { SettingsOutcome } from './settings-step.ts';

/** Step 2: which source of the cloud's credential chain answers here, and what the cloud said of the target. */
export function credentialStep(log: StepLog, outcome: SettingsOutcome, env: Env): void {
  const { cloud, settings } = outcome;
  if (!cloud) {
    const plugins = settings.plugins.map((plugin) => (typeof plugin === 'string' ? plugin : plugin.name));
    log.add({
      step: 'credential',
      status: 'skip',
      detail:
        plugins.length > 0
          ? `a third-party plugin (${plugins.join(', ')}) supplies the token`
          : 'no cloud plugin is on',
    });
    return;
  }
  const facts = outcome.cloudResolution?.identity.facts ?? {};
  const extra = Object.keys(facts).length > 0 ? `; ${describeFacts(facts)}` : '';
  if (!cloud.doctor) {
    log.add({
      step: 'credential',
      status: 'skip',
      detail: `${cloud.name}: ${cloud.title} (the cloud does not describe its credentials)${extra}`,
      data: { cloud: cloud.name, ...facts },
    });
    return;
  }
  let finding: ReturnType<typeof cloud.doctor.describeCredential>;
  try {
    finding = cloud.doctor.describeCredential({ env, options: cloudOptions(cloud, settings) });
  } catch (error) {
    log.add(errorStep('credential', error));
    return;
  }
  const skipped = finding.skipped.length > 0 ? `; skipped: ${finding.skipped.join('; ')}` : '';
  log.add({
    step: 'credential',
    status: finding.ok ? 'ok' : 'FAIL',
    code: finding.ok ? undefined : 'CREDENTIAL_UNAVAILABLE',
    detail: `${cloud.name}: ${finding.chosen}${extra}${skipped}`,
    hint: finding.ok ? undefined : finding.hint,
    data: {
      cloud: cloud.name,
      chosen: finding.chosen,
      skipped: finding.skipped,
      ...facts,
      ...(finding.ok && finding.hint ? { note: finding.hint } : {}),
    },
  });
}
