import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcessStat, readSystemIdentity } from './process-stat.ts';

/** The file in an owned folder that names the process that made it. */
const OWNER_FILE = 'owner';
const MAX_OWNER_BYTES = 1_024;

/**
 * The process that made a folder. The PID alone is not enough: after a SIGKILL the PID is free, and a
 * later process may get it. On Linux the start time, the boot and the PID namespace tell them apart.
 */
interface FolderOwner {
  pid: number;
  host: string;
  startTicks?: string;
  bootId?: string;
  pidNamespace?: string;
}

/**
 * Makes a private folder (exactly 0700) `<parent>/<prefix>XXXXXX` with an `owner` file (0600) naming
 * this process, so that a later run can remove the folder if this process is killed before it does
 * (SIGKILL cannot be caught): see removeLeftFolders.
 *
 * @example
 * const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
 * const { tmpdir } = await import('node:os');
 * const parent = mkdtempSync(`${tmpdir()}/owned-example-`);
 * const folder = makeOwnedFolder('job-', parent);
 * console.log(readdirSync(folder)); // [ 'owner' ]
 * rmSync(parent, { recursive: true });
 */
export function makeOwnedFolder(prefix: string, parent: string = tmpdir()): string {
  const folder = mkdtempSync(join(parent, prefix));
  try {
    // mkdtemp makes it 0700 less the umask; exactly 0700 is also what tells a later run it is ours.
    chmodSync(folder, 0o700);
    const owner: FolderOwner = {
      pid: process.pid,
      host: hostname(),
      startTicks: readProcessStat('self')?.startTicks,
      ...readSystemIdentity(),
    };
    writeFileSync(join(folder, OWNER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return folder;
}

/** What removeLeftFolders did: the folders it removed, and those it could not remove. */
export interface LeftFolders {
  removed: string[];
  failed: Array<{ folder: string; error: unknown }>;
}

/**
 * Removes the folders that makeOwnedFolder made with this prefix in `parent` and whose owner process
 * is gone (killed with SIGKILL, or a machine that went down). A folder is taken for one of ours only
 * when it is a real directory (a symlink is never followed), of this user, exactly 0700, with an owner
 * file that is a regular file of this user; anything else is left alone, and so is a folder whose
 * owner runs, or cannot be judged from here (another host or PID namespace sharing the folder).
 *
 * @example
 * const { mkdtempSync, rmSync } = await import('node:fs');
 * const { tmpdir } = await import('node:os');
 * const parent = mkdtempSync(`${tmpdir()}/owned-example-`);
 * makeOwnedFolder('job-', parent);
 * console.log(removeLeftFolders('job-', parent).removed); // [] (its owner, this process, runs)
 * rmSync(parent, { recursive: true });
 */
export function removeLeftFolders(prefix: string, parent: string = tmpdir()): LeftFolders {
  const result: LeftFolders = { removed: [], failed: [] };
  const uid = process.getuid?.();
  if (uid === undefined) return result; // no owners to check (Windows)
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return result;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const folder = join(parent, name);
    const owner = ownerOfOurFolder(folder, uid);
    if (owner === undefined || !ownerIsGone(owner)) continue;
    try {
      rmSync(folder, { recursive: true, force: true });
      result.removed.push(folder);
    } catch (error) {
      result.failed.push({ folder, error });
    }
  }
  return result;
}

/** The owner recorded in a folder that is ours, or undefined for anything else (left alone). */
function ownerOfOurFolder(folder: string, uid: number): FolderOwner | undefined {
  try {
    // lstat: a symlink named like our folders is not a directory, and is never followed.
    const stat = lstatSync(folder);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o777) !== 0o700) return undefined;
    return parseOwner(readOwnerFile(join(folder, OWNER_FILE), uid));
  } catch {
    return undefined; // removed meanwhile, no owner file (yet), or not a file of ours
  }
}

/** The owner file's text, checked and read through one open file (what was checked is what is read). */
function readOwnerFile(path: string, uid: number): string {
  // O_NOFOLLOW: a symlink in its place fails (ELOOP); O_NONBLOCK: a FIFO in its place does not hang.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== uid || stat.size > MAX_OWNER_BYTES) {
      throw new Error(`${path} is not an owner file of this user`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The owner in the file's text; undefined when it is not one (cut short while being written, say). */
function parseOwner(text: string): FolderOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, host, startTicks, bootId, pidNamespace } = value as Record<string, unknown>;
  const optionalText = [startTicks, bootId, pidNamespace].every(
    (field) => field === undefined || typeof field === 'string',
  );
  // pid >= 1: 0 and negative numbers name process groups in kill(2), never one process.
  if (!Number.isSafeInteger(pid) || (pid as number) < 1 || typeof host !== 'string' || !optionalText)
    return undefined;
  return value as FolderOwner;
}

/** Whether the owner process is certainly gone; false whenever that cannot be told from here. */
function ownerIsGone(owner: FolderOwner): boolean {
  const here = readSystemIdentity();
  // Another machine sharing the folder (a network file system): its processes are not visible here.
  if (owner.host !== hostname()) return false;
  // An earlier boot of this machine: every process of that boot is gone.
  if (owner.bootId !== undefined && here.bootId !== undefined && owner.bootId !== here.bootId) return true;
  // Another PID namespace (a container sharing the folder): its PIDs name other processes here.
  if (owner.pidNamespace !== here.pidNamespace) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // ESRCH: no such process. EPERM: one runs, of another user: the start time tells whether it is ours.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  // A process has the PID: the owner, or a later one that got the PID (it started later).
  const startTicks = readProcessStat(owner.pid)?.startTicks;
  return owner.startTicks !== undefined && startTicks !== undefined && startTicks !== owner.startTicks;
}
