/** Prints rows as an aligned plain-text table under a title. */
export function table(title: string, rows: ReadonlyArray<object>): void {
  console.log(`\n${title}`);
  const columns = Object.keys(rows[0] ?? {});
  const width = (column: string) =>
    Math.max(column.length, ...rows.map((row) => String((row as Record<string, unknown>)[column]).length));
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(width(columns[i] as string))).join('  ');
  console.log(line(columns));
  console.log(line(columns.map((column) => '-'.repeat(width(column)))));
  for (const row of rows)
    console.log(line(columns.map((column) => String((row as Record<string, unknown>)[column]))));
}
