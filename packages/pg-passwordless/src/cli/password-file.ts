import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenHandle } from '../core/contract.ts';
import { describeError } from '../core/errors.ts';
import { makeOwnedFolder, removeLeftFolders } from './owned-folders.ts';

/**
 * Escapes one field of a libpq password file: `:` and `\` get a backslash (an IPv6 host, an RDS token
 * with `:` in its query string).
 *
 * @example
 * console.log(escapePgpassField('::1')); // \:\:1
 * console.log(escapePgpassField('a\\b')); // a\\b
 */
export function escapePgpassField(value: string): string {
  return value.replace(/[\\:]/g, (char) => `\\${char}`);
}

/**
 * One line of a libpq password file (`hostname:port:database:username:password`), each field escaped.
 *
 * @example
 * console.log(pgpassLine({ host: 'db.example.com', port: 5432, database: '*', user: 'app', password: 'p:w' }));
 * // db.example.com:5432:*:app:p\:w
 */
export function pgpassLine(fields: {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}): string {
  const { host, port, database, user, password } = fields;
  // '*' stays a wildcard: libpq and node's pgpass match a bare '*' field against anything.
  const field = (value: string) => (value === '*' ? value : escapePgpassField(value));
  return [field(host), String(port), field(database), field(user), escapePgpassField(password)].join(':');
}

/** What the password file is for, and where its tokens come from. */
export interface PasswordFileSource {
  host: string;
  port: number;
  user: string;
  getToken(): Promise<string>;
  /** The cache's handle: its `token` events trigger an immediate rewrite, its expiry paces the timer. */
  token?: TokenHandle | undefined;
}

/** A password file kept current for the life of a child process, in a private folder of its own. */
export interface LivePasswordFile {
  /** The private folder (0700): the password file, and anything else private to the child (a CA file). */
  readonly folder: string;
  /** The password file (0600), for PGPASSFILE. */
  readonly path: string;
  /** The token currently in the file (for `--token-in-url`, which hands one token over). */
  readonly current: string;
  /** How many times a token was written (the first one included). */
  writes(): number;
  /** Stops renewing and removes the folder with everything in it. */
  close(): void;
}

/** The private folders in os.tmpdir(): `pg-passwordless-exec-XXXXXX`. */
const FOLDER_PREFIX = 'pg-passwordless-exec-';
const MIN_CHECK_MS = 1_000;
const MAX_CHECK_MS = 60_000;

/**
 * Writes a libpq password file (mode 0600, in a new 0700 folder) for the host, port, any database and
 * the role, and keeps it current: libpq and node-postgres read the file again for every new
 * connection, so a long-running child always finds a token that is still valid. Each new token from
 * the cache (its `token` event) is written at once, and a timer checks again well before expiry (a
 * tenth of the remaining life, between 1 s and 60 s). Writes are atomic (a temporary file, then
 * rename), so a reader never sees half a file. The first token is fetched before this resolves.
 *
 * The folder holds an `owner` file naming this process. A process killed with SIGKILL cannot remove its
 * folder: the next call removes every such folder of this user whose owner process is gone (and only
 * those, see removeLeftFolders), so a token does not stay on disk past the next run.
 *
 * @example
 * const file = await keepPasswordFile(
 *   { host: 'db.example.com', port: 5432, user: 'app', getToken: async () => 'example-token' },
 *   (message) => console.error(message),
 * );
 * console.log(file.path.endsWith('pgpass'), file.writes()); // true 1
 * file.close(); // stops renewing and removes the folder
 */
export async function keepPasswordFile(
  source: PasswordFileSource,
  warn: (message: string) => void,
): Promise<LivePasswordFile> {
  const first = await source.getToken();
  for (const { folder, error } of removeLeftFolders(FOLDER_PREFIX).failed) {
    warn(`could not remove ${folder}, left by an earlier run that was killed: ${describeError(error)}`);
  }
  const folder = makeOwnedFolder(FOLDER_PREFIX);
  const file = passwordFileWriter(folder, source);
  try {
    file.write(first);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const renewal = keepCurrent(source, file, warn);
  return {
    folder,
    path: file.path,
    get current() {
      return file.current;
    },
    writes: () => file.writes,
    close() {
      renewal.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Writes the file atomically (a temporary file, then rename), so a reader never sees half of it. */
function passwordFileWriter(folder: string, source: PasswordFileSource) {
  const path = join(folder, 'pgpass');
  let temporaries = 0;
  const state = { path, current: '', writes: 0, write };
  function write(token: string): void {
    const line = pgpassLine({
      host: source.host,
      port: source.port,
      database: '*',
      user: source.user,
      password: token,
    });
    const temporary = join(folder, `.pgpass-${temporaries++}`);
    writeFileSync(temporary, `${line}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
    state.current = token;
    state.writes++;
  }
  return state;
}

/**
 * Keeps the file current: each new token from the cache (its `token` event) is written at once, and a
 * timer checks again well before expiry (a tenth of the remaining life, between 1 s and 60 s).
 */
function keepCurrent(
  source: PasswordFileSource,
  file: ReturnType<typeof passwordFileWriter>,
  warn: (message: string) => void,
): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const token = await source.getToken();
      if (!stopped && token !== file.current) file.write(token);
    } catch (error) {
      // The token in the file may still be valid; the next check tries again. Never the token itself.
      if (!stopped)
        warn(`could not renew the token in the password file: ${describeError(error).split('\n')[0]}`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    const expiresAtMs = source.token?.expiresAtMs();
    const remainingMs = expiresAtMs === undefined ? MAX_CHECK_MS * 10 : expiresAtMs - Date.now();
    const delayMs = Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, remainingMs / 10));
    // unref: the child process keeps this one alive; the timer must not keep it alive after.
    timer = setTimeout(() => void check().finally(schedule), delayMs).unref();
  };
  const unsubscribe = source.token?.on((event) => {
    if (event.type === 'token' || event.type === 'invalidated') void check();
  });
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      unsubscribe?.();
    },
  };
}
