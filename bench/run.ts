// npm run bench: pg-passwordless side by side with the naive approaches, against the local emulator.
// Prints each section as it is measured and writes them all to a results file, from which
// `--update-readme` (or scripts/update-readme-figures.ts) rewrites the figures the READMEs quote.
//
//   npm run bench                            every section; results in bench/results/latest.json
//   npm run bench -- --update-readme         the same, then the READMEs' figures from this run
//   npm run bench -- --only 1,7,8            some sections (9 is 9a and 9b, minutes of pgbench; 10 the pool);
//                                            results in bench/results/partial.json (git-ignored)
import { updateReadmeFigures } from '../scripts/update-readme-figures.ts';
import { parseBenchArgs } from './args.ts';
import { AZURE_SECTIONS, startAzureBenchEmulator } from './azure-sections.ts';
import { failingFetchBench } from './failing-fetch.ts';
import { otherCloudsBench } from './other-clouds.ts';
import { poolBench } from './pool.ts';
import { proxyBench } from './proxy.ts';
import { createRecorder, describeRun } from './results.ts';

const options = parseBenchArgs(process.argv.slice(2));
const recorder = createRecorder(describeRun());

const azure = AZURE_SECTIONS.filter(([id]) => options.sections.has(id));
if (azure.length > 0) {
  const emulator = await startAzureBenchEmulator();
  try {
    console.log(
      `emulator: ${emulator.backend.describe()}; gateway ${emulator.gateway.host}:${emulator.gateway.port}`,
    );
    for (const [, section] of azure) recorder.report(await section(emulator));
  } finally {
    await emulator.stop();
  }
}
// 7. AWS and GCP: the cold burst of section 1.
if (options.sections.has('7')) recorder.report(await otherCloudsBench());
// 8. No token to be had: one cold fetch against a failing identity endpoint, per cloud.
if (options.sections.has('8')) recorder.report(await failingFetchBench());
// 9. pgbench through `pg-passwordless proxy` (TCP and a Unix socket) against straight to the TLS gateway.
if (options.sections.has('9')) await proxyBench(recorder.report);
// 10. pgbench through `pg-passwordless pool` against direct, the proxy, and PgBouncer with a static password.
if (options.sections.has('10')) await poolBench(recorder.report);

recorder.write(options.results);
console.log(`\nresults: ${options.results}`);
if (options.updateReadme) {
  for (const line of updateReadmeFigures(options.results)) console.log(line);
}
