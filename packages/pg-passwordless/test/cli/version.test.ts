// `pg-passwordless --version`, through the real bin, as a user types it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { installAlone } from './lone-install.ts';
import { repoRoot, runCli, runProgram } from './run-cli.ts';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages/pg-passwordless/package.json'), 'utf8'));

describe('pg-passwordless --version', () => {
  for (const flag of ['--version', '-V', 'version']) {
    it(`${flag} prints "pg-passwordless <version>" and exits 0`, async () => {
      const result = await runCli([flag], {});
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `pg-passwordless ${version}\n`);
      assert.equal(result.stderr, '');
    });
  }

  it('reads the version from the installed package.json at run time', async () => {
    const install = installAlone('9.8.7-installed');
    try {
      const result = await runProgram(process.execPath, [install.bin, '--version'], {});
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'pg-passwordless 9.8.7-installed\n');
    } finally {
      install.remove();
    }
  });

  it('is listed in the help', async () => {
    const result = await runCli(['--help'], {});
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ {2}version +print the version \(also --version, -V\)$/m);
  });

  it('an unknown flag is still an unknown command (exit 2)', async () => {
    const result = await runCli(['--verison'], {});
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "--verison"/);
  });
});
