import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One source file: its path from the repository root, and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

/** Every .ts file under a folder (no .d.ts), paths relative to `root`. */
export function sourceFiles(root: string, folder: string): SourceFile[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
    });
  return walk(join(root, folder)).map((path) => ({
    path: relative(root, path),
    text: readFileSync(path, 'utf8'),
  }));
}

/** The module specifiers a file imports or re-exports (type-only ones included: they tie files too). */
export function importsOf(text: string): string[] {
  const specifiers = [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms)].map(
    (m) => m[1] as string,
  );
  const bare = [...text.matchAll(/^import\s+'([^']+)'/gm)].map((m) => m[1] as string);
  return [...specifiers, ...bare];
}

/** The files a file imports by relative path, resolved to repository-relative paths. */
export function localImports(file: SourceFile): string[] {
  return importsOf(file.text)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative('.', resolve(dirname(file.path), specifier)));
}

/** Every import cycle among the files, each as the list of files around it (one per cycle found). */
export function importCycles(files: SourceFile[]): string[][] {
  const graph = new Map(files.map((file) => [file.path, localImports(file)]));
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') cycles.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The code of a file without its comments (line and block), so that words in comments do not count. */
export function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** A function and how many lines it spans. */
export interface FunctionSpan {
  name: string;
  line: number;
  lines: number;
  /** Whether the comment just above it says why it is long. */
  explained: boolean;
}

const FUNCTION_START =
  /^\s*(?:export\s+)?(?:async\s+)?(?:function\s*\*?\s*(\w+)\s*[<(]|(?:(?:public|private|static|override|async|get|set|#)\s*)*(#?\w+)\s*\([^)]*\)\s*(?::[^{]*)?\{\s*$|(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*(?::[^=]*)?=>\s*\{\s*$)/;

/**
 * The functions of a file (declarations, methods, arrow functions assigned to a name) and their length
 * in lines, found by matching braces in the code without comments. Good enough for a size rule; not a
 * parser.
 */
export function functionSpans(text: string): FunctionSpan[] {
  const code = withoutComments(text).split('\n');
  const original = text.split('\n');
  const spans: FunctionSpan[] = [];
  for (let index = 0; index < code.length; index++) {
    const match = FUNCTION_START.exec(code[index] ?? '');
    const name = match?.[1] ?? match?.[2] ?? match?.[3];
    if (!name || ['if', 'for', 'while', 'switch', 'catch', 'return'].includes(name)) continue;
    let depth = 0;
    let opened = false;
    let end = index;
    for (; end < code.length; end++) {
      for (const char of code[end] ?? '') {
        if (char === '{') {
          depth++;
          opened = true;
        } else if (char === '}') depth--;
      }
      if (opened && depth <= 0) break;
    }
    const above = original.slice(Math.max(0, index - 12), index).join('\n');
    spans.push({
      name,
      line: index + 1,
      lines: end - index + 1,
      explained: /cannot be split|kept whole/i.test(above),
    });
  }
  return spans;
}
