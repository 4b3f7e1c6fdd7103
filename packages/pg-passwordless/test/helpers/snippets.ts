import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One code example from the docs: where it is written, and its code as a module. */
export interface Snippet {
  /** `README.md:42` or `src/core/retry.ts:17`: where a reader finds it. */
  origin: string;
  code: string;
  /** The source file whose exports an import-less `@example` may use. */
  sourceFile?: string;
}

/** Every ```ts block of a Markdown file. */
export function markdownSnippets(path: string, root: string): Snippet[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[index] ?? '')) continue;
    const start = index + 1;
    while (index + 1 < lines.length && !/^```\s*$/.test(lines[++index] ?? ''));
    snippets.push({
      origin: `${relative(root, path)}:${start + 1}`,
      code: lines.slice(start, index).join('\n'),
    });
  }
  return snippets;
}

/** Every `@example` of the TypeScript files under a folder, up to the next tag or the comment's end. */
export function jsdocSnippets(folder: string, root: string): Snippet[] {
  const snippets: Snippet[] = [];
  for (const file of listTypeScript(folder)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let index = 0; index < lines.length; index++) {
      if (!/^\s*\* @example\s*$/.test(lines[index] ?? '')) continue;
      const start = index + 1;
      const body: string[] = [];
      while (index + 1 < lines.length) {
        const line = lines[++index] ?? '';
        if (/^\s*\*\/|^\s*\* @\w+/.test(line)) break;
        body.push(line.replace(/^\s*\* ?/, ''));
      }
      snippets.push({ origin: `${relative(root, file)}:${start}`, code: body.join('\n'), sourceFile: file });
    }
  }
  return snippets;
}

function listTypeScript(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return listTypeScript(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The names a source file exports (functions, classes, constants, types), for import-less examples. */
export function exportedNames(sourceFile: string): { values: string[]; types: string[] } {
  const text = readFileSync(sourceFile, 'utf8');
  const values = [...text.matchAll(/^export (?:async )?(?:function|const|class) (\w+)/gm)].map(
    (m) => m[1] as string,
  );
  const types = [...text.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1] as string);
  return { values, types };
}

/**
 * The snippet as a module a test can type-check and run. An `@example` that imports nothing may use
 * its own file's exports, as a reader of that file would; everything else must import what it uses.
 */
export function snippetModule(snippet: Snippet, snippetPath: string): string {
  const header: string[] = [`// ${snippet.origin}`];
  if (snippet.sourceFile && !/^import /m.test(snippet.code)) {
    const { values, types } = exportedNames(snippet.sourceFile);
    const names = [...values, ...types.map((name) => `type ${name}`)];
    let from = relative(join(snippetPath, '..'), snippet.sourceFile);
    if (!from.startsWith('.')) from = `./${from}`;
    if (names.length > 0) header.push(`import { ${names.join(', ')} } from '${from}';`);
  }
  return `${header.join('\n')}\n${snippet.code}\nexport {};\n`;
}
