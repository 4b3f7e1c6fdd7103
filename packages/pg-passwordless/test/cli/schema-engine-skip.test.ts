// The reason the Prisma migrate test gives when it skips: why npm's install left the schema engine
// missing, decided by the real npm's install-script policy, and what a user runs about it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EngineScriptPolicy,
  engineScriptPolicy,
  missingSchemaEngine,
} from '../helpers/prisma-engine.ts';
import { repoRoot } from './run-cli.ts';

// What `prisma migrate deploy` (7.5.0) printed on a machine that cannot resolve binaries.prisma.sh.
const PRISMA_STDERR =
  'Loaded Prisma config from prisma.config.ts.\n\n' +
  'Error: request to https://binaries.prisma.sh/all_commits/280c870be64f457428992c43c1f6d557fab6e29e/' +
  'debian-openssl-3.0.x/schema-engine.gz.sha256 failed, reason: getaddrinfo ENOTFOUND binaries.prisma.sh\n';

describe('the skip reason when Prisma has no schema engine', () => {
  const reasons: Array<[EngineScriptPolicy, RegExp[]]> = [
    [
      'not-approved',
      [
        /npm did not run the install script of @prisma\/engines.*allowScripts does not approve it/,
        /Run `npm install-scripts approve @prisma\/engines`, then `npm rebuild @prisma\/engines` where binaries\.prisma\.sh is reachable/,
      ],
    ],
    [
      'denied',
      [
        /npm did not run the install script of @prisma\/engines.*allowScripts denies it \("@prisma\/engines": false\)/,
        /Set that entry to true, then run `npm rebuild @prisma\/engines`/,
      ],
    ],
    [
      'approved',
      [
        /allowScripts approves the install script of @prisma\/engines, so npm ran it/,
        /could not download the engine from binaries\.prisma\.sh\. Run `npm rebuild @prisma\/engines` where/,
      ],
    ],
    ['no-policy', [/this npm runs every install script/, /Run `npm rebuild @prisma\/engines`/]],
  ];
  for (const [policy, expected] of reasons) {
    it(`${policy}: names the engine, says why it is missing and what to run, and quotes Prisma`, () => {
      const reason = missingSchemaEngine(PRISMA_STDERR, policy) ?? '';
      assert.match(
        reason,
        /^Prisma's schema engine node_modules\/@prisma\/engines\/schema-engine-debian-openssl-3\.0\.x is missing: /,
      );
      for (const pattern of expected) assert.match(reason, pattern);
      assert.match(reason, /PRISMA_SCHEMA_ENGINE_BINARY/);
      assert.match(
        reason,
        /Prisma 7 migrates only through that engine: prisma\.config\.ts takes no driver adapter since 7\.0 .* cannot log in through createPool instead \(examples\/prisma\/migrate\.test\.ts\)\. Prisma: /,
      );
      assert.match(
        reason,
        /Prisma: Error: request to https:\/\/binaries\.prisma\.sh\/.* getaddrinfo ENOTFOUND binaries\.prisma\.sh$/,
      );
    });
  }

  it('is undefined for any other failure (the test then fails instead of skipping)', () => {
    const refused =
      'Error: P1000: Authentication failed against database server, the provided database credentials for `orders-api` are not valid.\n';
    assert.equal(missingSchemaEngine(refused, 'approved'), undefined);
  });

  it('passes the quoted error line through the redaction it is given', () => {
    const reason = missingSchemaEngine(PRISMA_STDERR, 'approved', (text) =>
      text.replace(/all_commits\/\w+/, 'all_commits/<hidden>'),
    );
    assert.match(reason ?? '', /all_commits\/<hidden>\/debian/);
    assert.doesNotMatch(reason ?? '', /280c870be64f/);
  });
});

// npm 11 has the policy (and the install-scripts command); an older npm runs every install script.
const npmHasPolicy = spawnSync('npm', ['install-scripts', '--help'], { encoding: 'utf8' }).status === 0;

describe("npm's install-script policy for @prisma/engines", () => {
  let project: string;
  before(() => {
    // A project with @prisma/engines installed (its manifest with the postinstall, as published).
    project = mkdtempSync(join(tmpdir(), 'pg-passwordless-policy-'));
    mkdirSync(join(project, 'node_modules', '@prisma', 'engines'), { recursive: true });
    writeFileSync(
      join(project, 'node_modules', '@prisma', 'engines', 'package.json'),
      JSON.stringify({
        name: '@prisma/engines',
        version: '7.5.0',
        scripts: { postinstall: 'node scripts/postinstall.js' },
      }),
    );
  });
  after(() => project && rmSync(project, { recursive: true, force: true }));

  const withAllowScripts = (allowScripts: Record<string, boolean> | undefined) => {
    const manifest = {
      name: 'app',
      version: '1.0.0',
      devDependencies: { '@prisma/engines': '7.5.0' },
      allowScripts,
    };
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest));
    return engineScriptPolicy(project);
  };

  it('no allowScripts entry: not approved (npm 11; an older npm has no policy)', () => {
    assert.equal(withAllowScripts(undefined), npmHasPolicy ? 'not-approved' : 'no-policy');
  });
  it('"@prisma/engines": true: approved (npm 11; an older npm has no policy)', () => {
    assert.equal(withAllowScripts({ '@prisma/engines': true }), npmHasPolicy ? 'approved' : 'no-policy');
  });
  it('"@prisma/engines": false: denied', () => {
    assert.equal(withAllowScripts({ '@prisma/engines': false }), 'denied');
  });

  it('this repository approves it, so the schema engine is downloaded wherever binaries.prisma.sh is reachable', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    assert.equal(manifest.allowScripts?.['@prisma/engines'], true);
    assert.equal(engineScriptPolicy(repoRoot), npmHasPolicy ? 'approved' : 'no-policy');
  });
});
