// The house rules that keep the structure whole, checked on the source itself: no import circles, each
// cloud closed in its folder, an emulator that checks the library instead of importing its policy, and
// functions a reader can follow.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { functionSpans, importCycles, importsOf, sourceFiles, withoutComments } from './source-tree.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const library = sourceFiles(root, 'packages/pg-passwordless/src');
const emulator = sourceFiles(root, 'packages/pg-passwordless-emulator/src');
const CLOUDS = ['azure', 'aws', 'gcp'];

describe('the source tree', () => {
  it('found the sources', () => {
    assert.ok(library.length > 50 && emulator.length > 20, `${library.length} + ${emulator.length} files`);
  });

  it('has no import circles in either package', () => {
    const cycles = [...importCycles(library), ...importCycles(emulator)];
    assert.deepEqual(
      cycles.map((cycle) => cycle.join(' -> ')),
      [],
    );
  });

  it('names each cloud in code only inside its own folder and the list of built-ins', () => {
    const outside = library.filter(
      (file) =>
        !CLOUDS.some((cloud) => file.path.includes(`/src/plugins/${cloud}/`)) &&
        !file.path.endsWith('/src/plugins/built-in.ts'),
    );
    const found: string[] = [];
    for (const file of outside) {
      withoutComments(file.text)
        .split('\n')
        .forEach((line, index) => {
          const word = new RegExp(`\\b(${CLOUDS.join('|')}|azure|entra|rds|cloud sql)\\b`, 'i').exec(line);
          if (word) found.push(`${file.path}:${index + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(found, []);
  });

  it('keeps the emulator independent: it imports the wire code and the command frame, nothing of the policy', () => {
    const shared = new Set(['pg-passwordless/wire', 'pg-passwordless/cli-frame']);
    const imports = emulator.flatMap((file) =>
      importsOf(file.text)
        .filter((specifier) => specifier.startsWith('pg-passwordless') && !shared.has(specifier))
        .map((specifier) => `${file.path}: ${specifier}`),
    );
    assert.deepEqual(imports, []);
    const manifest = JSON.parse(
      readFileSync(join(root, 'packages/pg-passwordless/package.json'), 'utf8'),
    ) as {
      peerDependencies?: Record<string, string>;
      dependencies?: Record<string, string>;
    };
    assert.equal(manifest.peerDependencies?.['pg-passwordless-emulator'], undefined);
    assert.equal(manifest.dependencies?.['pg-passwordless-emulator'], undefined);
  });

  it('has no function over 60 lines unless a comment above it says why it cannot be split', () => {
    const long = [...library, ...emulator].flatMap((file) =>
      functionSpans(file.text)
        .filter((span) => span.lines > 60 && !span.explained)
        .map((span) => `${file.path}:${span.line} ${span.name} (${span.lines} lines)`),
    );
    assert.deepEqual(long, []);
  });
});
