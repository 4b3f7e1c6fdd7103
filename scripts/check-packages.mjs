// Packaging checks, as a user installs the packages: for each package, `npm pack` must hold only what
// it needs (dist, bin, README, package.json), publint and @arethetypeswrong/cli must find no problem, and
// the tarballs must install in an empty folder where a smoke script imports every export (ESM and
// CommonJS `require`, which Node 20.19+ allows for ESM) and runs each bin's --help. Also prints the
// installed size the library adds beyond `pg`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const packages = ['pg-passwordless', 'pg-passwordless-emulator'];
const work = mkdtempSync(join(tmpdir(), 'pg-passwordless-pack-'));
const run = (command, args, options = {}) =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${message}`);
  if (!ok) failures.push(message);
};

try {
  const tarballs = {};
  for (const name of packages) {
    const folder = join(root, 'packages', name);
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: folder }));
    tarballs[name] = join(work, packed.filename);
    const files = packed.files.map((file) => file.path);
    const unexpected = files.filter(
      (path) => !/^(dist\/.*\.(js|d\.ts)|bin\/[\w-]+\.js|README\.md|package\.json)$/.test(path),
    );
    check(
      unexpected.length === 0,
      `${name}: npm pack holds only dist, bin, README and package.json (${files.length} files, ${packed.size} bytes packed)${unexpected.length ? `; unexpected: ${unexpected.join(', ')}` : ''}`,
    );
    check(
      files.some((path) => path.startsWith('bin/')) && files.includes('dist/index.js'),
      `${name}: the bin and the entry are packed`,
    );
    try {
      run('npx', ['publint', folder]);
      check(true, `${name}: publint finds no problem`);
    } catch (error) {
      check(false, `${name}: publint: ${error.stdout}${error.stderr}`);
    }
    try {
      // ESM only, by design: on Node 20.19+ (our engines) require() loads ESM, which the smoke test proves.
      run('npx', ['attw', '--pack', folder, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm']);
      check(true, `${name}: @arethetypeswrong/cli finds no problem for node16 and bundlers`);
    } catch (error) {
      check(false, `${name}: attw: ${error.stdout}${error.stderr}`);
    }
  }

  // The library alone, as `npm install pg-passwordless pg` would install it, next to pg alone.
  const sizeOf = (folder) => {
    let total = 0;
    for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
    }
    return total;
  };
  const install = (folder, specs) => {
    writeFileSync(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'smoke', private: true, type: 'module' }),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...specs], { cwd: folder });
  };
  const pgOnly = mkdtempSync(join(work, 'pg-only-'));
  install(pgOnly, ['pg@8']);
  const library = mkdtempSync(join(work, 'library-'));
  install(library, [tarballs['pg-passwordless'], 'pg@8']);
  const addedBytes = sizeOf(join(library, 'node_modules')) - sizeOf(join(pgOnly, 'node_modules'));
  check(
    addedBytes < 1024 * 1024,
    `npm install pg-passwordless pg: ${(addedBytes / 1024).toFixed(0)} KB beyond pg alone (goal: under 1 MB)`,
  );
  const missing = (() => {
    try {
      run(join(library, 'node_modules/.bin/pg-passwordless'), ['emulator', '--help'], { cwd: library });
      return '';
    } catch (error) {
      return `${error.stderr}`;
    }
  })();
  check(
    /npm install --save-dev pg-passwordless-emulator/.test(missing),
    `without the emulator package, "pg-passwordless emulator" says what to install: ${missing.trim().split('\n')[0]}`,
  );

  // Both packages, every export, both module systems, every bin.
  const both = mkdtempSync(join(work, 'both-'));
  install(both, [tarballs['pg-passwordless'], tarballs['pg-passwordless-emulator'], 'pg@8']);
  // Every export of both packages (the preload runs too: with no PG_PASSWORDLESS_ENABLED it does nothing).
  const entries = packages.flatMap((name) => {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
    return Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`));
  });
  writeFileSync(
    join(both, 'smoke.mjs'),
    `for (const entry of ${JSON.stringify(entries)}) {
       const module = await import(entry);
       const names = Object.keys(module);
       if (!entry.endsWith('/register') && (names.length === 0 || names.some((name) => module[name] === undefined))) throw new Error(entry + ': empty export');
       console.log(entry + ': ' + names.length + ' exports');
     }`,
  );
  writeFileSync(
    join(both, 'smoke.cjs'),
    `for (const entry of ${JSON.stringify(entries)}) console.log(entry + ' (require): ' + Object.keys(require(entry)).length + ' exports');`,
  );
  for (const script of ['smoke.mjs', 'smoke.cjs']) {
    try {
      console.log(run(process.execPath, [script], { cwd: both }).trim());
      check(true, `${script}: every entry loads`);
    } catch (error) {
      check(false, `${script}: ${error.stderr}`);
    }
  }
  for (const [bin, args] of [
    ['pg-passwordless', ['--help']],
    ['pg-passwordless', ['emulator', '--help']],
    ['pg-passwordless-emulator', ['--help']],
  ]) {
    try {
      const output = run(join(both, 'node_modules/.bin', bin), args, { cwd: both });
      check(output.startsWith('Usage:'), `${bin} ${args.join(' ')} prints its usage`);
    } catch (error) {
      check(false, `${bin} ${args.join(' ')}: ${error.stderr}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`\ncheck-packages: ${failures.length} problem(s)`);
  process.exit(1);
}
