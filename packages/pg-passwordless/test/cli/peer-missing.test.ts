// PEER_MISSING as an app meets it: pg-passwordless installed alone, a command that needs a peer. The
// hint is the install command that fits the peer: the SDKs are the app's dependencies, the emulator a
// dev dependency (tests, CI, demos), as the README installs it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { installAlone, type LoneInstall } from './lone-install.ts';
import { runProgram } from './run-cli.ts';

describe('a missing peer, with pg-passwordless installed alone', () => {
  let install: LoneInstall;
  before(() => {
    install = installAlone();
  });
  after(() => install?.remove());

  const run = (args: string[]) => runProgram(process.execPath, [install.bin, ...args], {});

  it('pg-passwordless emulator: PEER_MISSING, install it with --save-dev', async () => {
    const result = await run(['emulator', '--cloud', 'azure']);
    assert.equal(result.code, 1, result.stdout);
    assert.equal(
      result.stderr,
      'pg-passwordless: PEER_MISSING: `pg-passwordless emulator` needs the package "pg-passwordless-emulator", ' +
        'which is not installed.\nHint: Run: npm install --save-dev pg-passwordless-emulator\n',
    );
  });

  for (const [cloud, sdk] of [
    ['azure', '@azure/identity'],
    ['aws', '@aws-sdk/rds-signer'],
    ['gcp', 'google-auth-library'],
  ] as const) {
    it(`pg-passwordless token --cloud ${cloud}: PEER_MISSING, install ${sdk} as a dependency`, async () => {
      const result = await run(['token', '--cloud', cloud, 'postgresql://orders-api@db.example.com/orders']);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(`^pg-passwordless: PEER_MISSING: .*"${sdk}", which is not installed\\.$`, 'm'),
      );
      assert.match(result.stderr, new RegExp(`^Hint: Run: npm install ${sdk}$`, 'm'));
      assert.equal(result.stdout, '');
    });
  }
});
