/** One section of the bench's output: a titled table and the notes printed under it. */
export interface BenchSection {
  /** The section's number as printed: '1' to '8', '9a', '9b', '10'. */
  id: string;
  /** The title line, number included. */
  title: string;
  rows: Array<Record<string, string | number>>;
  /** Lines printed under the table, as they are printed. */
  notes: string[];
}

/**
 * The text the bench prints for a section: the title, the rows as an aligned plain-text table (none
 * when the section was skipped), then the notes. The READMEs quote this same text.
 *
 * @example
 * import { sectionText } from './table.ts';
 *
 * console.log(sectionText({ id: '1', title: '1. Requests', rows: [{ approach: 'ours', requests: 1 }], notes: [] }));
 * // 1. Requests
 * // approach  requests
 * // --------  --------
 * // ours      1
 */
export function sectionText(section: BenchSection): string {
  const { rows } = section;
  const columns = Object.keys(rows[0] ?? {});
  const width = (column: string) => Math.max(column.length, ...rows.map((row) => String(row[column]).length));
  // Trailing spaces trimmed: the last column needs no padding.
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(width(columns[i] as string)))
      .join('  ')
      .trimEnd();
  const table =
    rows.length === 0
      ? []
      : [
          line(columns),
          line(columns.map((column) => '-'.repeat(width(column)))),
          ...rows.map((row) => line(columns.map((column) => String(row[column])))),
        ];
  return [section.title, ...table, ...section.notes].join('\n');
}
