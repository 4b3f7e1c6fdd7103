// Every ```ts block of the README and every @example in src/ is type-checked and run as written,
// against the emulator (the cloud the snippet names, Azure otherwise). A snippet that needs a
// workaround here is a bug in the snippet or in the code, never in this test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../helpers/run-scenario.ts';
import { jsdocSnippets, markdownSnippets, type Snippet, snippetModule } from '../helpers/snippets.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
// One folder per run, so that two runs at once do not overwrite each other's snippets.
const folder = join(root, `.doc-snippets-${process.pid}`);
const packages = ['pg-passwordless', 'pg-passwordless-emulator'].map((name) => join(root, 'packages', name));
const snippets: Snippet[] = [
  ...markdownSnippets(join(root, 'README.md'), root),
  ...packages.flatMap((folder) => markdownSnippets(join(folder, 'README.md'), root)),
  ...packages.flatMap((folder) => jsdocSnippets(join(folder, 'src'), root)),
];
const fileOf = (index: number) => join(folder, `snippet-${String(index).padStart(3, '0')}.ts`);

/** The cloud a snippet is about, from the settings or variables it names; Aurora DSQL is AWS's `dsql`. */
function cloudOf(code: string): CloudName | 'aws-dsql' {
  if (/\.dsql\.[a-z0-9-]+\.on\.aws/.test(code)) return 'aws-dsql';
  if (/\baws: \{|PG_PASSWORDLESS_AWS|rds\.amazonaws|cloud: 'aws'/.test(code)) return 'aws';
  if (/\bgcp: \{|PG_PASSWORDLESS_GCP|cloud: 'gcp'/.test(code)) return 'gcp';
  return 'azure';
}

describe('README snippets and @examples, as written', () => {
  const emulators = new Map<CloudName | 'aws-dsql', Emulator>();
  let typeErrors = new Map<string, string[]>();

  before(async () => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    for (const [index, snippet] of snippets.entries()) {
      writeFileSync(fileOf(index), snippetModule(snippet, fileOf(index)));
    }
    writeFileSync(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: '..' },
        include: ['*.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', folder], {
      cwd: root,
      encoding: 'utf8',
    });
    typeErrors = new Map();
    for (const line of tsc.stdout.split('\n')) {
      const file = /^\.doc-snippets-\d+\/(snippet-\d+\.ts)\(/.exec(line)?.[1];
      if (file) typeErrors.set(file, [...(typeErrors.get(file) ?? []), line]);
    }
    for (const cloud of new Set(snippets.map((snippet) => cloudOf(snippet.code)))) {
      emulators.set(
        cloud,
        await startEmulator(cloud === 'aws-dsql' ? { cloud: 'aws', awsService: 'dsql' } : { cloud }),
      );
    }
  });
  after(async () => {
    for (const emulator of emulators.values()) await emulator.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('found the snippets', () => {
    assert.ok(snippets.length > 50, `only ${snippets.length} snippets found`);
  });

  snippets.forEach((snippet, index) => {
    it(`${snippet.origin} type-checks and runs`, async () => {
      const file = fileOf(index);
      const errors = typeErrors.get(file.slice(folder.length + 1)) ?? [];
      assert.deepEqual(
        errors,
        [],
        `${snippet.origin} does not type-check:\n${errors.join('\n')}\n${snippet.code}`,
      );
      const emulator = emulators.get(cloudOf(snippet.code)) as Emulator;
      // A guard against a hang, not a speed goal: an example that starts an embedded PGlite takes 25 s
      // on a loaded two-core machine.
      const { code, stdout, stderr } = await runScript(file, [], emulator.env, 120_000);
      assert.equal(
        code,
        0,
        `${snippet.origin} failed (exit ${code}):\n${stdout}${stderr}\n--- snippet:\n${snippet.code}`,
      );
    });
  });
});
