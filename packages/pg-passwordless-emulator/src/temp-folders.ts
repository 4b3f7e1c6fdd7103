import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'pg-passwordless-';
/** Names the process that owns a folder: `<pid> <hostname>` (a /tmp shared between containers has several hosts). */
const OWNER_FILE = 'emulator-owner';

/**
 * A new private (0700) temporary folder `pg-passwordless-<kind>-XXXXXX`, marked with this process as its
 * owner, so that a later start can remove it if this process dies without cleaning up (SIGKILL).
 *
 * @example
 * const { rmSync } = await import('node:fs');
 * const folder = makeOwnedTempFolder('example');
 * console.log(folder.includes('pg-passwordless-example-')); // true
 * rmSync(folder, { recursive: true, force: true });
 */
export function makeOwnedTempFolder(kind: string): string {
  const folder = mkdtempSync(join(tmpdir(), `${PREFIX}${kind}-`));
  writeFileSync(join(folder, OWNER_FILE), `${process.pid} ${hostname()}\n`);
  return folder;
}

/**
 * Removes the emulator's temporary folders whose owner process is gone (on this host), and returns
 * them. Folders without an owner mark, of another host, or of a living process are left alone; so are
 * folders this user may not remove.
 *
 * @example
 * const stale = removeStaleTempFolders(); // what killed emulators left behind
 * console.log(Array.isArray(stale)); // true
 */
export function removeStaleTempFolders(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const folder = join(tmpdir(), name);
    let owner: string[];
    try {
      owner = readFileSync(join(folder, OWNER_FILE), 'utf8').trim().split(' ');
    } catch {
      continue; // not a folder of ours, not readable, or already gone
    }
    const pid = Number(owner[0]);
    if (!Number.isInteger(pid) || owner[1] !== hostname() || isAlive(pid)) continue;
    try {
      rmSync(folder, { recursive: true, force: true });
      removed.push(folder);
    } catch {
      // another user's folder: theirs to remove
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
