// Why Prisma's schema engine is missing, for the message of a test that skips without it. Prisma 7 runs
// migrate and db commands in a native schema engine (node_modules/@prisma/engines/schema-engine-<platform>)
// that the install script of @prisma/engines downloads from binaries.prisma.sh; without it the CLI tries
// that download at start and fails when the host is unreachable. npm 11 runs a dependency's install
// script only when package.json's allowScripts approves it (npm help install-scripts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What npm's install-script policy says about @prisma/engines in a project. */
export type EngineScriptPolicy =
  /** allowScripts approves it: npm ran it (unless the install ran with --ignore-scripts). */
  | 'approved'
  /** allowScripts denies it ("@prisma/engines": false). */
  | 'denied'
  /** allowScripts has no entry for it: npm 11 skipped it and listed it after the install. */
  | 'not-approved'
  /** This npm has no install-script policy (before npm 11): it runs every install script. */
  | 'no-policy';

const ENGINES = '@prisma/engines';

/**
 * Reads the policy of the project at `root`: a denial from its package.json, the rest from
 * `npm install-scripts ls --json`, which lists the install scripts that allowScripts does not cover.
 */
export function engineScriptPolicy(root: string): EngineScriptPolicy {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  const entries = Object.entries(manifest.allowScripts ?? {});
  if (entries.some(([key, allowed]) => !allowed && (key === ENGINES || key.startsWith(`${ENGINES}@`)))) {
    return 'denied';
  }
  const listed = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) return 'no-policy';
  const pending = (JSON.parse(listed.stdout) as { allowScripts: Array<{ name: string }> }).allowScripts;
  return pending.some((entry) => entry.name === ENGINES) ? 'not-approved' : 'approved';
}

const WHERE_REACHABLE = 'where binaries.prisma.sh is reachable';

/** Why the install script did not leave the engine behind, and what a user does about it. */
const CAUSES: Record<EngineScriptPolicy, string> = {
  'not-approved':
    `npm did not run the install script of ${ENGINES}, which downloads it: package.json's allowScripts ` +
    `does not approve it, and npm 11 runs only approved install scripts. Run \`npm install-scripts approve ` +
    `${ENGINES}\`, then \`npm rebuild ${ENGINES}\` ${WHERE_REACHABLE}`,
  denied:
    `npm did not run the install script of ${ENGINES}, which downloads it: package.json's allowScripts ` +
    `denies it ("${ENGINES}": false). Set that entry to true, then run \`npm rebuild ${ENGINES}\` ${WHERE_REACHABLE}`,
  approved:
    `package.json's allowScripts approves the install script of ${ENGINES}, so npm ran it (unless the ` +
    `install ran with --ignore-scripts), but it could not download the engine from binaries.prisma.sh. ` +
    `Run \`npm rebuild ${ENGINES}\` ${WHERE_REACHABLE}`,
  'no-policy':
    `this npm runs every install script, so the one of ${ENGINES} ran (unless the install ran with ` +
    `--ignore-scripts), but it could not download the engine from binaries.prisma.sh. Run ` +
    `\`npm rebuild ${ENGINES}\` ${WHERE_REACHABLE}`,
};

/**
 * Why nothing else can run the migrations: Prisma 7 has no driver-adapter path that would log in through
 * createPool (examples/prisma/migrate.test.ts runs the CLI with one and shows it unused).
 */
const NO_ADAPTER_PATH =
  "Prisma 7 migrates only through that engine: prisma.config.ts takes no driver adapter since 7.0 (its `engine: 'js'` " +
  'and `adapter` keys were removed), so Migrate cannot log in through createPool instead (examples/prisma/migrate.test.ts)';

/**
 * The reason to skip when Prisma's stderr says it could not download its schema engine, else
 * undefined: which engine, why npm's install left it missing (from `policy`), what to run, why Prisma
 * has no other way to migrate, and Prisma's own error line. `redact` hides secrets the error line may hold.
 */
export function missingSchemaEngine(
  stderr: string,
  policy: EngineScriptPolicy,
  redact: (text: string) => string = (text) => text,
): string | undefined {
  const error =
    /^Error: request to https:\/\/binaries\.prisma\.sh\/\S+\/([\w.-]+)\/schema-engine\S* failed.*$/m.exec(
      stderr,
    );
  if (!error) return undefined;
  return (
    `Prisma's schema engine node_modules/${ENGINES}/schema-engine-${error[1]} is missing: ${CAUSES[policy]} ` +
    `(or set PRISMA_SCHEMA_ENGINE_BINARY to a schema engine of this Prisma version). ${NO_ADAPTER_PATH}. ` +
    `Prisma: ${redact(error[0])}`
  );
}
