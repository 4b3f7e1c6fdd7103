// The README's Quick start, as a newcomer meets it: `npm install` on a fresh clone warns about nothing
// (no dependency that refuses this Node, no install script left unreviewed), and the line beside
// `npm run demo` names the database the demo really uses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const MANIFESTS = [
  'package.json',
  'package-lock.json',
  'packages/pg-passwordless/package.json',
  'packages/pg-passwordless-emulator/package.json',
];

/**
 * `npm ci` as on a fresh clone, from the manifests and the lockfile alone, in a dry run (nothing is
 * installed, nothing is fetched) in a temporary folder. The root's own scripts are left out: its
 * `prepare` builds sources the copy does not have. npm checks every package's `engines` against the
 * running Node and lists the install scripts that package.json's allowScripts does not cover.
 */
function freshInstallDryRun(): { status: number | null; stderr: string } {
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-fresh-install-'));
  try {
    for (const file of MANIFESTS) {
      mkdirSync(dirname(join(folder, file)), { recursive: true });
      writeFileSync(join(folder, file), readFileSync(join(root, file)));
    }
    const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
    delete manifest.scripts;
    writeFileSync(join(folder, 'package.json'), JSON.stringify(manifest));
    const result = spawnSync('npm', ['ci', '--dry-run', '--offline', '--no-audit', '--no-fund'], {
      cwd: folder,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('README Quick start', () => {
  it(`npm install on Node ${process.versions.node}: no EBADENGINE, no unreviewed install script`, () => {
    const { status, stderr } = freshInstallDryRun();
    assert.equal(status, 0, stderr);
    assert.doesNotMatch(stderr, /EBADENGINE/, `a dependency refuses this Node:\n${stderr}`);
    assert.doesNotMatch(stderr, /install-scripts/, `install scripts not covered by allowScripts:\n${stderr}`);
  });

  it('says which database `npm run demo` uses: a system PostgreSQL when one is installed, else PGlite', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const comment = /^npm install && npm run demo +# (.*)$/m.exec(readme)?.[1] ?? '';
    assert.match(comment, /on a system PostgreSQL when one is installed, else the embedded PGlite/);
    // The rule, checked here: the demo starts the emulator with backend 'auto'. Installed means the
    // server binaries where .ci/run looks for them (on PATH, or Debian's /usr/lib/postgresql/<version>/bin).
    const installed =
      spawnSync('sh', ['-c', 'command -v initdb || ls /usr/lib/postgresql/*/bin/initdb']).status === 0;
    const emulator = await startEmulator({ backend: 'auto' });
    try {
      assert.equal(emulator.backend.kind, installed ? 'postgres' : 'pglite', emulator.backend.describe());
    } finally {
      await emulator.stop();
    }
  });
});
