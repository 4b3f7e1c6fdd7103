// The bench figures the READMEs quote, as marked blocks generated from one results file:
//   <!-- bench:all --> ... <!-- /bench:all -->          every section as the bench prints it
//   <!-- bench:5,6 --> ... <!-- /bench:5,6 -->          the named sections (ids as printed: 8, 9a)
//   ... <!-- bench:proxy-speed -->...<!-- /bench:proxy-speed --> ...   section 9's ratios, inline in prose
// A block whose opening marker ends its line is a block of lines (indented as the marker is); one
// that goes on in the same line is inline text.
import type { BenchResults, BenchRun } from '../bench/results.ts';
import { type BenchSection, sectionText } from '../bench/table.ts';

/** The sections of a full run, in the order the bench prints them. */
export const FULL_RUN = ['1', '2', '3', '4', '5', '6', '7', '8', '9a', '9b', '10'];

const MARKER = /<!-- (\/?)bench:([\w,-]+) -->/g;

/** One marked block of a README. */
export interface FigureBlock {
  name: string;
  /** Offsets of the text between the markers. */
  start: number;
  end: number;
  content: string;
}

/**
 * Finds the marked blocks of a README; throws on a marker without its pair, nested blocks, or an
 * unknown block name.
 *
 * @example
 * import { figureBlocks } from './readme-figures.ts';
 *
 * console.log(figureBlocks('a <!-- bench:proxy-speed -->0.9x<!-- /bench:proxy-speed --> b')[0]?.content); // 0.9x
 */
export function figureBlocks(text: string): FigureBlock[] {
  const blocks: FigureBlock[] = [];
  let open: { name: string; start: number } | undefined;
  for (const match of text.matchAll(MARKER)) {
    const [marker, closing, name] = match as unknown as [string, string, string];
    const at = match.index ?? 0;
    if (!closing) {
      if (open) throw new Error(`bench:${name} opens inside bench:${open.name} (line ${lineOf(text, at)})`);
      sectionsOf(name); // throws on an unknown name
      open = { name, start: at + marker.length };
    } else if (open?.name !== name) {
      throw new Error(`/bench:${name} closes no open block (line ${lineOf(text, at)})`);
    } else {
      blocks.push({ name, start: open.start, end: at, content: text.slice(open.start, at) });
      open = undefined;
    }
  }
  if (open) throw new Error(`bench:${open.name} is never closed (line ${lineOf(text, open.start)})`);
  return blocks;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** The section ids a block shows; throws for a name that is no block. */
export function sectionsOf(name: string): string[] {
  if (name === 'all') return FULL_RUN;
  if (name === 'proxy-speed') return ['9a', '9b'];
  const ids = name.split(',');
  const unknown = ids.filter((id) => !FULL_RUN.includes(id));
  if (unknown.length > 0)
    throw new Error(`bench:${name}: no section ${unknown.join(', ')} (sections: ${FULL_RUN.join(', ')})`);
  return ids;
}

/** Says where the figures come from, before a table. */
function provenance(run: BenchRun): string {
  if (run.transcribedFrom) {
    return (
      `Not one run: figures of earlier \`npm run bench\` runs, transcribed from ${run.transcribedFrom}; ` +
      '`npm run bench -- --update-readme` replaces them with one run’s.'
    );
  }
  const started = run.startedAt.replace(/:\d\d(\.\d+)?Z$/, ' UTC').replace('T', ' ');
  return `From one \`npm run bench\` run, started ${started}, on Node ${run.node}, ${run.platform}, ${run.cpus} CPUs (${run.cpuModel}):`;
}

/**
 * Renders one block from the results; throws when the results lack a section the block shows.
 *
 * @example
 * import { renderBlock } from './readme-figures.ts';
 * import { readResults } from '../bench/results.ts';
 *
 * console.log(renderBlock('8', readResults('bench/results/latest.json'))); // From one `npm run bench` run, ...
 */
export function renderBlock(name: string, results: BenchResults): string {
  const byId = new Map(results.sections.map((section) => [section.id, section]));
  const missing = sectionsOf(name).filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new Error(`bench:${name} needs section ${missing.join(', ')}, which the results do not hold`);
  }
  const sections = sectionsOf(name).map((id) => byId.get(id) as BenchSection);
  if (name === 'proxy-speed') return proxySpeed(sections);
  return `${provenance(results.run)}\n\n\`\`\`text\n${sections.map(sectionText).join('\n\n')}\n\`\`\``;
}

/**
 * Rewrites every marked block of a README from the results and returns the new text; the text
 * around the blocks is left as it is. Throws as {@link figureBlocks} and {@link renderBlock} do.
 *
 * @example
 * import { updateFigures } from './readme-figures.ts';
 * import { readResults } from '../bench/results.ts';
 *
 * const text = updateFigures('Speed: <!-- bench:proxy-speed --><!-- /bench:proxy-speed -->.', readResults('bench/results/latest.json'));
 */
export function updateFigures(text: string, results: BenchResults): string {
  let updated = '';
  let from = 0;
  for (const block of figureBlocks(text)) {
    const rendered = renderBlock(block.name, results);
    const lineStart = text.lastIndexOf('\n', block.start) + 1;
    const indent = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
    const isBlock = block.content.startsWith('\n');
    const body = isBlock
      ? `\n${rendered
          .split('\n')
          .map((line) => (line ? indent + line : line))
          .join('\n')}\n${indent}`
      : rendered;
    updated += text.slice(from, block.start) + body;
    from = block.end;
  }
  return updated + text.slice(from);
}

/** Section 9's ratios and CPU cost as a clause for prose, from the 9a and 9b tables. */
function proxySpeed([twoMachines, oneMachine]: BenchSection[]): string {
  const cell = (section: BenchSection | undefined, mode: string, path: string, column: string) => {
    const row = section?.rows.find(
      (r) => String(r.pgbench).startsWith(mode) && String(r.path).startsWith(path),
    );
    return row === undefined ? undefined : Number.parseFloat(String(row[column]));
  };
  const ratio = (section: BenchSection | undefined, mode: string, path: string) =>
    cell(section, mode, path, 'proxy/direct');
  const sections = [twoMachines, oneMachine];
  const range = (values: Array<number | undefined>, digits: number, unit = '') => {
    const known = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
    if (known.length === 0) return undefined;
    const [low, high] = [Math.min(...known).toFixed(digits), Math.max(...known).toFixed(digits)];
    return low === high ? `${low}${unit}` : `${low}${unit} to ${high}${unit}`;
  };
  const proxies = ['proxy, TCP', 'proxy, Unix'];
  const logins = range(
    sections.flatMap((s) => proxies.map((p) => ratio(s, '-C', p))),
    2,
    'x',
  );
  const queries = sections
    .map((section, i) => {
      const [tcp, unix] = proxies.map((p) => ratio(section, '-S', p));
      if (tcp === undefined || unix === undefined) return undefined;
      const where =
        i === 0 ? 'with the server on a core of its own (9a)' : 'with all of it on the same cores (9b)';
      return `${tcp.toFixed(2)}x over TCP and ${unix.toFixed(2)}x over the Unix socket ${where}`;
    })
    .filter((clause) => clause !== undefined);
  const stunnel = sections
    .map((section, i) =>
      ratio(section, '-S', 'stunnel')
        ?.toFixed(2)
        .concat(`x (${i === 0 ? '9a' : '9b'})`),
    )
    .filter((clause) => clause !== undefined);
  const proxyCpu = range(
    sections.flatMap((s) => proxies.map((p) => cell(s, '-S', p, 'proxy CPU ms / 1000 tx'))),
    1,
  );
  const stunnelCpu = range(
    sections.map((s) => cell(s, '-S', 'stunnel', 'proxy CPU ms / 1000 tx')),
    1,
  );
  const clauses = [
    logins && `logins (\`pgbench -C -S\`) through the proxy at ${logins} of direct`,
    queries.length > 0 && `queries on open connections (\`pgbench -S\`) at ${queries.join(', ')}`,
    stunnel.length > 0 && `stunnel at ${stunnel.join(' and ')}`,
    proxyCpu &&
      `the proxy's CPU ${proxyCpu} µs per query round trip${stunnelCpu ? ` (stunnel ${stunnelCpu})` : ''}`,
  ].filter(Boolean);
  if (twoMachines?.rows.length === 0) clauses.push('9a skipped (no taskset, or fewer than 2 CPUs)');
  return clauses.join('; ');
}
