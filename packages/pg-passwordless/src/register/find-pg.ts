import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';

/**
 * Where the app's own `pg` is: resolved from the working folder (the app's package) and from the entry
 * script's folder (an app started from elsewhere: `node /srv/app/main.js`), as the app's `require('pg')`
 * and `import 'pg'` would find it. Never the copy next to pg-passwordless: patching that one would miss
 * the app's. Both paths are resolved to real files, so one copy seen twice is listed once.
 *
 * @example
 * console.log(appPgPaths(process.cwd(), process.argv[1])); // [ '/srv/app/node_modules/pg/lib/index.js' ]
 */
export function appPgPaths(cwd: string, entry: string | undefined): string[] {
  const paths = new Set<string>();
  for (const from of [join(cwd, 'package.json'), entry]) {
    if (!from || !isAbsolute(from)) continue;
    try {
      paths.add(createRequire(from).resolve('pg'));
    } catch (error) {
      // No pg there: this process may be npm or a tool that NODE_OPTIONS reached too.
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  return [...paths];
}

/**
 * Loads one `pg` (CommonJS: `require('pg')` and `import pg from 'pg'` share its `module.exports`) and
 * the pg-connection-string that this pg itself uses, so connection strings are read exactly as pg reads them.
 *
 * @example
 * for (const path of appPgPaths(process.cwd(), process.argv[1])) {
 *   const { pg, parseConnectionString } = loadPg(path);
 *   console.log(typeof pg, parseConnectionString('postgresql://app@db.example.com/orders').host); // object db.example.com
 * }
 */
export function loadPg(path: string): {
  pg: object;
  parseConnectionString: (connectionString: string) => Record<string, unknown>;
} {
  const require = createRequire(path);
  const { parse } = require('pg-connection-string') as {
    parse: (connectionString: string) => Record<string, unknown>;
  };
  return { pg: require(path) as object, parseConnectionString: parse };
}
