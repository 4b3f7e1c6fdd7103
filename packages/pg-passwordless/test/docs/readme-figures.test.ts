// The READMEs' bench figures: marked blocks that scripts/update-readme-figures.ts rewrites from one
// results file. Checked here with the committed bench/results/latest.json and with a fixture (a results
// file as the bench writes it), never with a bench run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../../../../bench/args.ts';
import { type BenchResults, LATEST_RESULTS, readResults } from '../../../../bench/results.ts';
import { sectionText } from '../../../../bench/table.ts';
import { FULL_RUN, figureBlocks, renderBlock, updateFigures } from '../../../../scripts/readme-figures.ts';
import { READMES, updateReadmeFigures } from '../../../../scripts/update-readme-figures.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/bench-results.json', import.meta.url));
const script = join(root, 'scripts', 'update-readme-figures.ts');
const readme = (file: string) => readFileSync(file, 'utf8');
/** The text around the blocks, which the script must leave alone. */
const outside = (text: string) =>
  text.replace(/(<!-- bench:([\w,-]+) -->)[\s\S]*?(<!-- \/bench:\2 -->)/g, '$1$3');
const clone = (results: BenchResults): BenchResults => JSON.parse(JSON.stringify(results));

describe('README bench figures', () => {
  const fixture = readResults(FIXTURE);

  it('the marked blocks of the READMEs parse, and name sections a full run has', () => {
    const names = READMES.flatMap((file) => figureBlocks(readme(file)).map((block) => block.name));
    assert.deepEqual(names.sort(), ['10', '5,6', '8', 'all', 'proxy-speed', 'proxy-speed']);
  });

  it('the READMEs hold what the script makes from bench/results/latest.json (no hand edit, one source)', () => {
    const latest = readResults(LATEST_RESULTS);
    assert.deepEqual(
      latest.sections.map((section) => section.id),
      FULL_RUN,
    );
    for (const file of READMES) assert.equal(updateFigures(readme(file), latest), readme(file), file);
  });

  it('is idempotent on a fixture, and leaves the text around the blocks as it is', () => {
    for (const file of READMES) {
      const once = updateFigures(readme(file), fixture);
      assert.equal(updateFigures(once, fixture), once, file);
      assert.equal(outside(once), outside(readme(file)), file);
    }
  });

  it("puts the fixture's figures in the blocks: every section as printed, and where they come from", () => {
    const updated = updateFigures(readme(READMES[0] as string), fixture);
    for (const section of fixture.sections) assert.ok(updated.includes(sectionText(section)), section.id);
    assert.match(
      updated,
      /From one `npm run bench` run, started 2026-12-06 20:31 UTC, on Node v20\.20\.2, linux-x64, 2 CPUs \(AMD EPYC\):/,
    );
    // Section 8 of the fixture, quoted by the library's README (its Azure 503 row).
    const library = updateFigures(readme(READMES[1] as string), fixture);
    assert.match(library, /azure {2}endpoint answers 503 {8}4 {18}878 /);
  });

  it('says section 9 in prose: the ratios and CPU of the 9a and 9b tables', () => {
    assert.equal(
      renderBlock('proxy-speed', fixture),
      'logins (`pgbench -C -S`) through the proxy at 0.97x to 1.07x of direct; queries on open connections ' +
        '(`pgbench -S`) at 0.84x over TCP and 0.86x over the Unix socket with the server on a core of its own (9a), ' +
        '0.76x over TCP and 0.78x over the Unix socket with all of it on the same cores (9b); stunnel at 0.85x (9a) ' +
        "and 0.72x (9b); the proxy's CPU 34.8 to 40.6 µs per query round trip (stunnel 36.3 to 43.1)",
    );
    // Without stunnel, and with 9a skipped (no taskset): no stunnel clause, and the skip said.
    const bare = clone(fixture);
    for (const section of bare.sections) {
      section.rows =
        section.id === '9a' ? [] : section.rows.filter((row) => !String(row.path).startsWith('stunnel'));
    }
    assert.equal(
      renderBlock('proxy-speed', bare),
      'logins (`pgbench -C -S`) through the proxy at 1.05x to 1.07x of direct; queries on open connections ' +
        '(`pgbench -S`) at 0.76x over TCP and 0.78x over the Unix socket with all of it on the same cores (9b); ' +
        "the proxy's CPU 34.8 to 37.0 µs per query round trip; 9a skipped (no taskset, or fewer than 2 CPUs)",
    );
  });

  it('keeps a block of lines at the indentation of its marker (inside a list item)', () => {
    const text = '- Speed:\n  <!-- bench:8 -->\n  <!-- /bench:8 -->\n- Next\n';
    const updated = updateFigures(text, fixture);
    const lines = updated.split('\n').slice(1, -3);
    assert.ok(lines.length > 5);
    for (const line of lines) assert.match(line, /^( {2}\S.*|)$/);
    assert.equal(updateFigures(updated, fixture), updated);
  });

  it('refuses results that lack a section a block shows, and broken or unknown markers', () => {
    const partial = clone(fixture);
    partial.sections = partial.sections.filter((section) => section.id !== '9b');
    assert.throws(() => updateFigures(readme(READMES[0] as string), partial), /bench:all needs section 9b/);
    assert.throws(() => figureBlocks('a\n<!-- bench:8 -->\nb\n'), /bench:8 is never closed \(line 2\)/);
    assert.throws(() => figureBlocks('<!-- /bench:8 -->'), /closes no open block/);
    assert.throws(() => figureBlocks('<!-- bench:all --><!-- bench:8 -->'), /opens inside bench:all/);
    assert.throws(() => figureBlocks('<!-- bench:11 --><!-- /bench:11 -->'), /no section 11/);
  });
});

describe('scripts/update-readme-figures.ts, as a command on copies of the READMEs', () => {
  let folder: string;
  let copies: string[];
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-readme-figures-'));
    copies = READMES.map((file, index) => {
      const copy = join(folder, `README-${index}.md`);
      copyFileSync(file, copy);
      return copy;
    });
  });
  after(() => folder && rmSync(folder, { recursive: true, force: true }));

  const run = (results: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', script, '--results', results, ...copies], {
      cwd: root,
      encoding: 'utf8',
    });

  it('rewrites the blocks from the results, then finds nothing to change', () => {
    const first = run(FIXTURE);
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      /README-0\.md: 2 blocks, updated\n.*README-1\.md: 4 blocks, updated\n.*README-2\.md: 0 blocks, unchanged/,
    );
    assert.equal(
      readme(copies[0] as string),
      updateFigures(readme(READMES[0] as string), readResults(FIXTURE)),
    );
    const second = run(FIXTURE);
    assert.equal(second.status, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /updated/);
  });

  it('writes nothing when the results lack a section (a partial run): exit 1, the reason on stderr', () => {
    const partial = join(folder, 'partial.json');
    const results = readResults(FIXTURE);
    results.sections = results.sections.filter((section) => !section.id.startsWith('9'));
    writeFileSync(partial, JSON.stringify(results));
    const before = copies.map(readme);
    const result = run(partial);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /update-readme-figures: .*README-0\.md: bench:all needs section 9a, 9b/);
    assert.deepEqual(copies.map(readme), before);
  });

  it('updateReadmeFigures, what npm run bench -- --update-readme calls, does the same from a results file', () => {
    const lines = updateReadmeFigures(LATEST_RESULTS, copies);
    assert.match(lines[0] ?? '', /README-0\.md: 2 blocks, updated$/);
    assert.deepEqual(copies.map(readme), READMES.map(readme));
  });
});

describe('npm run bench -- arguments', () => {
  it('--only picks sections; its results go to the git-ignored partial.json, a full run to latest.json', () => {
    const some = parseBenchArgs(['--only', '1, 8,9']);
    assert.deepEqual([...some.sections], ['1', '8', '9']);
    assert.match(some.results, /bench\/results\/partial\.json$/);
    assert.match(readFileSync(join(root, 'bench/results/.gitignore'), 'utf8'), /^partial\.json$/m);
    const all = parseBenchArgs([]);
    assert.equal(all.sections.size, 10);
    assert.equal(all.results, fileURLToPath(LATEST_RESULTS));
  });

  it('refuses an unknown section, and a README update from some sections only', () => {
    assert.throws(() => parseBenchArgs(['--only', '1,11']), /--only: no section 11/);
    assert.throws(() => parseBenchArgs(['--only', '1', '--update-readme']), /needs every section/);
    assert.equal(parseBenchArgs(['--update-readme']).updateReadme, true);
  });
});
