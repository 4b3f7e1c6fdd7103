import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LATEST_RESULTS } from './results.ts';

/** The sections `--only` takes: 9 is both of its tables, 9a and 9b; 10 is the pool's. */
export const SECTIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];
const PARTIAL_RESULTS = new URL('./results/partial.json', import.meta.url);

/** What a bench run does. */
export interface BenchOptions {
  sections: Set<string>;
  /** Where the results go: bench/results/latest.json for a full run, partial.json (git-ignored) for --only. */
  results: string;
  updateReadme: boolean;
}

/**
 * Parses `npm run bench -- [--only 1,7,8] [--results FILE] [--update-readme]`; throws on an unknown
 * section, and on --update-readme with --only (the READMEs show one whole run, never a mix of runs).
 *
 * @example
 * import { parseBenchArgs } from './args.ts';
 *
 * console.log([...parseBenchArgs(['--only', '1,8']).sections]); // ['1', '8']
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: 'string' },
      results: { type: 'string' },
      'update-readme': { type: 'boolean', default: false },
    },
  });
  const only = values.only?.split(',').map((id) => id.trim());
  const unknown = only?.filter((id) => !SECTIONS.includes(id)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`--only: no section ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
  }
  if (only && values['update-readme']) {
    throw new Error(
      '--update-readme needs every section, so that the READMEs show one run: leave out --only',
    );
  }
  return {
    sections: new Set(only ?? SECTIONS),
    results: values.results ?? fileURLToPath(only ? PARTIAL_RESULTS : LATEST_RESULTS),
    updateReadme: values['update-readme'] ?? false,
  };
}
