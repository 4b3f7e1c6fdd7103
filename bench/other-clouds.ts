// Section 7: the cold burst of section 1 on AWS and GCP, through the scenarios the tests assert on
// (one process each).
import { startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../packages/pg-passwordless/test/helpers/run-scenario.ts';
import type { BenchSection } from './table.ts';

/**
 * Counts the identity requests of 50 concurrent cold connections on AWS RDS IAM and GCP Cloud SQL IAM,
 * pg-passwordless beside the naive per-connection approach.
 *
 * @example
 * import { otherCloudsBench } from './other-clouds.ts';
 *
 * console.log((await otherCloudsBench()).rows.length); // 2
 */
export async function otherCloudsBench(): Promise<BenchSection> {
  const rows: Array<Record<string, string | number>> = [];
  for (const cloud of ['aws', 'gcp'] as const) {
    const emulator = await startEmulator({ cloud });
    try {
      const env = { ...emulator.env, SCENARIO_CONNECTIONS: '50' };
      let before = emulator.counters().tokensIssued;
      const ours = await runScenario('cloud.ts', ['pool'], env);
      const oursRequests = emulator.counters().tokensIssued - before;
      before = emulator.counters().tokensIssued;
      const naive = await runScenario('cloud.ts', [`reference-${cloud}`], env);
      const naiveRequests = emulator.counters().tokensIssued - before;
      if (ours.code !== 0 || naive.code !== 0)
        throw new Error(`${cloud} scenario failed: ${ours.stderr}${naive.stderr}`);
      rows.push({
        cloud,
        measure: cloud === 'aws' ? 'signings / credential requests' : 'metadata token requests',
        'pg-passwordless': cloud === 'aws' ? `${ours.output.signings} / ${oursRequests}` : oursRequests,
        'naive per-connection':
          cloud === 'aws' ? `${naive.output.signings} / ${naiveRequests}` : naiveRequests,
      });
    } finally {
      await emulator.stop();
    }
  }
  return {
    id: '7',
    title: '7. 50 concurrent cold connections on AWS RDS IAM and GCP Cloud SQL IAM',
    rows,
    notes: [
      '   naive aws: the reference plugin, a new Signer (and credential chain) per connection;' +
        ' naive gcp: auth.getAccessToken() per connection (google-auth-library shares one refresh)',
    ],
  };
}
