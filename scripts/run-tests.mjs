// Runs every *.test.ts file of both packages (packages/*/test) and of examples/ with node:test through
// tsx. Arguments narrow the run to files whose path contains one of them (a package's folder, say).
// Node 20's `node --test <folder>` silently finds no .ts files and exits 0, so the files are listed
// here explicitly, and the run fails when no test executed at all.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  let found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found = found.concat(findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const filter = process.argv.slice(2);
const packageTests = readdirSync('packages').map((name) => join('packages', name, 'test'));
const files = [...packageTests, 'examples']
  .flatMap((dir) => findTests(dir))
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

mkdirSync('.test-results', { recursive: true });
// One file per run: two runs at once (a package's tests beside the whole suite) must not mix their counts.
const tapFile = join('.test-results', `results-${process.pid}.tap`);
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);

const tap = readFileSync(tapFile, 'utf8');
const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const total = count('tests');
// Node counts a skipped test in "# skipped" but not a skipped suite (describe with { skip }): count those
// too, and say which, so a suite that never ran (PgBouncer not installed) shows in the summary.
const skippedSuites = [
  ...tap.matchAll(/^\s*ok \d+ - (.*) # SKIP ?(.*)\n\s*---\n(?:\s*\w+: .*\n)*?\s*type: 'suite'$/gm),
].map((match) => `${match[1]}${match[2] ? ` (${match[2]})` : ''}`);
for (const suite of skippedSuites) console.log(`skipped suite: ${suite}`);
console.log(`\n${passed} passed, ${failed} failed, ${count('skipped') + skippedSuites.length} skipped`);
if (total === 0) {
  console.error('run-tests: zero tests ran; treating the run as a failure');
  process.exit(1);
}
process.exit(result.status ?? 1);
