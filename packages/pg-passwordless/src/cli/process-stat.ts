import { readFileSync, readlinkSync } from 'node:fs';

/** What Linux says of a process in `/proc/<pid>/stat` (proc(5)): the fields `exec` relies on. */
export interface ProcessStat {
  /** Its process group (field 5). */
  pgrp: number;
  /** Its controlling terminal's device number (field 7); 0 when it has none. */
  ttyNr: number;
  /** The foreground process group of that terminal (field 8); -1 when it has none. */
  tpgid: number;
  /**
   * When it started, in clock ticks after boot (field 22). With the PID and the boot, it names one
   * process: a later process that gets the same PID starts later.
   */
  startTicks: string;
}

/**
 * Reads `/proc/<pid>/stat`; undefined where there is no such file (the process is gone, or the
 * system has no /proc: macOS).
 *
 * @example
 * const self = readProcessStat('self');
 * console.log(self === undefined || /^\d+$/.test(self.startTicks)); // true
 */
export function readProcessStat(pid: number | 'self'): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name, is in parentheses and may hold spaces and ')' itself: the other
  // fields start after the last ')'. fields[0] is field 3 (the state), so field n is fields[n - 3].
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [pgrp, ttyNr, tpgid] = [fields[2], fields[4], fields[5]].map(Number) as [number, number, number];
  const startTicks = fields[19] ?? '';
  if (![pgrp, ttyNr, tpgid].every(Number.isInteger) || !/^\d+$/.test(startTicks)) return undefined;
  return { pgrp, ttyNr, tpgid, startTicks };
}

/**
 * The identity of this boot (`/proc/sys/kernel/random/boot_id`) and of this process's PID namespace
 * (`/proc/self/ns/pid`, a container has its own); undefined where Linux does not say.
 *
 * @example
 * const { bootId, pidNamespace } = readSystemIdentity();
 * console.log(bootId === undefined || bootId.length === 36, pidNamespace?.startsWith('pid:') ?? true); // true true
 */
export function readSystemIdentity(): { bootId?: string; pidNamespace?: string } {
  const identity: { bootId?: string; pidNamespace?: string } = {};
  try {
    identity.bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux
  }
  try {
    identity.pidNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // not Linux, or /proc/self/ns is hidden (some sandboxes)
  }
  return identity;
}
