/**
 * Formats variables as `export NAME='value'` lines that any POSIX shell can `eval` or `source`.
 *
 * @example
 * console.log(formatExports({ PGHOST: '127.0.0.1', PGAPPNAME: "it's mine" }));
 * // export PGHOST=127.0.0.1
 * // export PGAPPNAME='it'\''s mine'
 */
export function formatExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join('');
}

/** Single-quotes a value for the shell ('it'\''s'). */
export function shellQuote(value: string): string {
  return /^[\w./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
