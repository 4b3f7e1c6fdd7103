// Rewrites the bench figures of the READMEs (their marked blocks, see readme-figures.ts) from one
// results file, all or nothing: when any block cannot be rendered, no README is written.
//
//   node --import tsx scripts/update-readme-figures.ts                  from bench/results/latest.json
//   node --import tsx scripts/update-readme-figures.ts --results FILE [README ...]
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { LATEST_RESULTS, readResults } from '../bench/results.ts';
import { figureBlocks, updateFigures } from './readme-figures.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The READMEs that quote bench figures (any of them may hold no block). */
export const READMES = [
  'README.md',
  'packages/pg-passwordless/README.md',
  'packages/pg-passwordless-emulator/README.md',
].map((file) => fileURLToPath(new URL(`../${file}`, import.meta.url)));

/**
 * Rewrites the marked blocks of `readmes` from the results in `resultsFile`; returns a line per README
 * saying what it did. Throws, having written nothing, when a block cannot be rendered from the results.
 *
 * @example
 * import { updateReadmeFigures } from './update-readme-figures.ts';
 *
 * for (const line of updateReadmeFigures('bench/results/latest.json')) console.log(line);
 * // README.md: 2 blocks, unchanged ...
 */
export function updateReadmeFigures(resultsFile: string | URL, readmes: string[] = READMES): string[] {
  const results = readResults(resultsFile);
  const updates = readmes.map((file) => {
    const text = readFileSync(file, 'utf8');
    try {
      return { file, text, blocks: figureBlocks(text).length, updated: updateFigures(text, results) };
    } catch (error) {
      throw new Error(`${relative(root, file)}: ${(error as Error).message}`, { cause: error });
    }
  });
  return updates.map(({ file, text, blocks, updated }) => {
    if (updated !== text) writeFileSync(file, updated);
    return `${relative(root, file)}: ${blocks} block${blocks === 1 ? '' : 's'}, ${updated === text ? 'unchanged' : 'updated'}`;
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { values, positionals } = parseArgs({
      options: { results: { type: 'string' } },
      allowPositionals: true,
    });
    const lines = updateReadmeFigures(
      values.results ?? LATEST_RESULTS,
      positionals.length > 0 ? positionals : READMES,
    );
    for (const line of lines) console.log(line);
  } catch (error) {
    console.error(`update-readme-figures: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
