// What one `npm run bench` run measured, as a file: the READMEs' figures are generated from it
// (scripts/update-readme-figures.ts), so that every figure they quote comes from the same run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchSection, sectionText } from './table.ts';

/** Where and when a run happened. */
export interface BenchRun {
  /** When the run started, ISO 8601 in UTC. */
  startedAt: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  /** Set when the figures were not measured in one run but copied from somewhere: says from where. */
  transcribedFrom?: string;
}

export interface BenchResults {
  run: BenchRun;
  /** In the order the bench prints them. */
  sections: BenchSection[];
}

/** The committed results the READMEs show: a full run writes them. */
export const LATEST_RESULTS = new URL('./results/latest.json', import.meta.url);

/**
 * Describes this machine and process, for a run starting now.
 *
 * @example
 * import { describeRun } from './results.ts';
 *
 * console.log(describeRun().node); // v20.20.2
 */
export function describeRun(now = new Date()): BenchRun {
  const cores = cpus();
  return {
    startedAt: now.toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
  };
}

/**
 * Collects the sections of a run as the bench prints them, and writes them out.
 *
 * @example
 * import { createRecorder, describeRun } from './results.ts';
 *
 * const recorder = createRecorder(describeRun());
 * recorder.report({ id: '1', title: '1. Requests', rows: [{ approach: 'ours', requests: 1 }], notes: [] });
 * recorder.write('/tmp/bench-results.json');
 */
export function createRecorder(run: BenchRun): {
  report(section: BenchSection): void;
  write(file: string | URL): void;
} {
  const sections: BenchSection[] = [];
  return {
    report(section) {
      console.log(`\n${sectionText(section)}`);
      sections.push(section);
    },
    write(file) {
      const results: BenchResults = { run, sections };
      mkdirSync(dirname(file instanceof URL ? fileURLToPath(file) : file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    },
  };
}

/**
 * Reads a results file; throws when it is not one.
 *
 * @example
 * import { LATEST_RESULTS, readResults } from './results.ts';
 *
 * console.log(readResults(LATEST_RESULTS).sections.map((section) => section.id)); // ['1', ..., '9b', '10']
 */
export function readResults(file: string | URL): BenchResults {
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  if (typeof results?.run?.startedAt !== 'string' || !Array.isArray(results.sections)) {
    throw new Error(`${String(file)} is not a bench results file (no run.startedAt or sections)`);
  }
  return results;
}
