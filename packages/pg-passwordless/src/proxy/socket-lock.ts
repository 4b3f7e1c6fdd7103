import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { PasswordlessError } from '../core/errors.ts';

/** How long an empty lock file counts as another proxy starting, not as a leftover. */
const FRESH_LOCK_MS = 5_000;

/** Lock files this process holds now: its own id in a lock it does not hold is a leftover of a restart. */
const heldHere = new Set<string>();

/**
 * Takes the lock file beside a Unix socket (`<socket>.lock`, holding this process's id), as PostgreSQL
 * keeps `.s.PGSQL.<port>.lock`. Two proxies started at once on the same folder and port then cannot both
 * replace a stale socket, the second unlinking the first's fresh one and leaving it listening on
 * nothing. A lock left by a process that is gone (killed, or crashed) is taken over, and so is one that
 * names this process or its parent (as PostgreSQL does: a container's proxy is PID 1 again after a
 * restart, with the old lock still in a kept folder). Returns the release.
 *
 * @example
 * const { mkdtempSync, rmSync } = await import('node:fs');
 * const { tmpdir } = await import('node:os');
 * const folder = mkdtempSync(`${tmpdir()}/lock-`);
 * const release = lockSocketPath(`${folder}/.s.PGSQL.5432`);
 * try {
 *   lockSocketPath(`${folder}/.s.PGSQL.5432`);
 * } catch (error) {
 *   console.log((error as { code: string }).code); // CONFIG_INVALID (this process holds it)
 * }
 * release();
 * rmSync(folder, { recursive: true });
 */
export function lockSocketPath(socketPath: string): () => void {
  const lockPath = `${socketPath}.lock`;
  if (heldHere.has(lockPath)) throw held(lockPath, process.pid);
  // Twice at most: once as it is, once after removing a lock whose process is gone.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(lockPath)) {
      // Two proxies that found the same leftover may both have removed it and created their own, the
      // later one removing the earlier's: whoever's id is not in the file lost.
      if (lockHolder(lockPath) !== process.pid) break;
      heldHere.add(lockPath);
      return releaseOnce(lockPath);
    }
    const holder = lockHolder(lockPath);
    // An empty lock this fresh is another proxy between creating the file and writing its id.
    if (holder === undefined && isFresh(lockPath)) break;
    if (holder !== undefined && isRunningElsewhere(holder)) throw held(lockPath, holder);
    try {
      unlinkSync(lockPath);
    } catch {
      // Another proxy removed it first; the next attempt tells who holds it now.
    }
  }
  throw new PasswordlessError('CONFIG_INVALID', `Cannot take ${lockPath}: another proxy is starting there.`, {
    hint: 'Start one proxy per socket.',
  });
}

/** Creates the lock with this process's id; false when a lock is already there. */
function tryCreate(lockPath: string): boolean {
  try {
    writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new PasswordlessError('CONFIG_INVALID', `Cannot create ${lockPath}: ${(error as Error).message}.`, {
      hint: 'Check that this user may write in the socket folder.',
      cause: error,
    });
  }
}

/** Removes the lock once, and only while it still names this process (never a later proxy's). */
function releaseOnce(lockPath: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    heldHere.delete(lockPath);
    if (lockHolder(lockPath) !== process.pid) return;
    try {
      unlinkSync(lockPath);
    } catch {
      // Already gone (someone cleaned the folder): nothing to release.
    }
  };
}

function held(lockPath: string, holder: number): PasswordlessError {
  return new PasswordlessError(
    'CONFIG_INVALID',
    `Another process (PID ${holder}) holds ${lockPath}: a proxy already serves that socket.`,
    {
      hint: `Stop it, or pick another folder or --unix-port. If PID ${holder} is not a proxy, remove ${lockPath}.`,
    },
  );
}

/** The process id in a lock file, or undefined when it holds none (empty, cut short, unreadable). */
function lockHolder(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the file was written in the last few seconds (a missing file is not). */
function isFresh(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < FRESH_LOCK_MS;
  } catch {
    return false;
  }
}

/**
 * Whether another process with this id runs (EPERM: it does, but belongs to another user). This
 * process and its parent are not "another": their id in a lock this process does not hold is a leftover.
 */
function isRunningElsewhere(pid: number): boolean {
  if (pid === process.pid || pid === process.ppid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
