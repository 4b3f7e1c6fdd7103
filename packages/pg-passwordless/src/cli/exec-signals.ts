import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { readProcessStat } from './process-stat.ts';

/*
 * Every signal whose default action ends a process, and what `exec` does with it. A signal that exec
 * catches goes on to the command (as a shell's foreground job would get it); exec waits for the
 * command, removes its folder and exits with the command's status (128 + n when a signal ended it).
 *
 * | signal                       | default     | exec                                                          |
 * |------------------------------|-------------|---------------------------------------------------------------|
 * | SIGHUP, SIGTERM              | end         | passed on: a supervisor stops the job, the terminal closed,   |
 * |                              |             | a daemon is asked to reload                                   |
 * | SIGINT, SIGQUIT              | end (QUIT:  | passed on, unless the terminal's keyboard (Ctrl-C, Ctrl-\)    |
 * |                              | core)       | sent it to the command too (see keyboardReachedChild)         |
 * | SIGUSR1                      | Node: opens | passed on. Listening also keeps Node from opening its         |
 * |                              | inspector   | inspector here: any local user could connect to it and read   |
 * |                              |             | the token out of this process                                 |
 * | SIGUSR2                      | end         | passed on (the command's own meaning: reopen logs, ...)       |
 * | SIGALRM, SIGVTALRM, SIGPROF  | end         | passed on: exec sets no such timer, so one is meant for the   |
 * |                              |             | job (SIGPROF would clash with a profiler of exec itself)      |
 * | SIGXCPU, SIGXFSZ             | core        | passed on: exec is mostly idle and writes only small files,   |
 * |                              |             | so one sent to it is meant for the job                        |
 * | SIGIO (= SIGPOLL on Linux)   | end         | passed on, once: both names are one number                    |
 * | SIGPWR, SIGSTKFLT (Linux)    | end         | passed on (SIGPWR: a UPS daemon's power failure)              |
 * | SIGABRT                      | core        | passed on when sent by kill (a watchdog); an abort() of exec  |
 * |                              |             | itself still ends it (abort re-raises): see SIGKILL           |
 * | SIGPIPE                      | end; Node   | not listened for: Node ignores it, so exec lives on; a broken |
 * |                              | ignores it  | pipe is the writer's own (the command writes to its inherited |
 * |                              |             | stdout). A listener, once removed, leaves the default (end)   |
 * | SIGSEGV, SIGBUS, SIGFPE,     | core        | not listened for: faults of exec itself. After a real one, a  |
 * | SIGILL, SIGSYS, SIGTRAP      |             | listener returns into the faulting code (SIGSYS: a seccomp    |
 * |                              |             | trap, SIGTRAP: a breakpoint), where JavaScript cannot run     |
 * |                              |             | safely: see SIGKILL                                           |
 * | SIGKILL, SIGSTOP             | end / stop  | cannot be caught. After exec ends uncaught, the next exec     |
 * |                              |             | removes its folder (removeLeftFolders)                        |
 * | real-time SIGRTMIN..SIGRTMAX | end         | Node cannot listen for them (they have no name in Node)       |
 *
 * Signals that stop (SIGTSTP, SIGTTIN, SIGTTOU) or are ignored by default (SIGCHLD, SIGCONT, SIGURG,
 * SIGWINCH) do not end exec; a terminal's Ctrl-Z stops the whole foreground group, command included.
 */
const PASSED_ON = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGTERM',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGIO',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGABRT',
] as const satisfies readonly NodeJS.Signals[];

/**
 * The signals `exec` passes on to its command: those of the table above that this platform has.
 *
 * @example
 * console.log(FORWARDED_SIGNALS.includes('SIGQUIT'), FORWARDED_SIGNALS.includes('SIGPIPE')); // true false
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = PASSED_ON.filter(
  (signal) => constants.signals[signal] !== undefined,
);

/** What a terminal's keyboard sends to its whole foreground process group (Ctrl-C, Ctrl-\). */
const KEYBOARD_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT']);

/**
 * Whether a Ctrl-C or Ctrl-\ reached the command directly: exec runs in the foreground process group
 * of its terminal, and the command in that same group (it did not move to a group of its own, as a
 * job-control shell does). The terminal then signalled both; passing it on would make it twice, and
 * a command that stops gently on the first Ctrl-C and at once on the second would stop at once. Node
 * does not say who sent a signal (sudo reads that from siginfo): a `kill -INT` of exec at such a time
 * counts as the keyboard's. Linux only (/proc); elsewhere false, so the signal is passed on.
 */
function keyboardReachedChild(childPid: number): boolean {
  const self = readProcessStat('self');
  const child = readProcessStat(childPid);
  if (self === undefined || child === undefined) return false;
  return self.ttyNr !== 0 && self.tpgid === self.pgrp && child.pgrp === self.pgrp;
}

/** Passes the signals that would end this process on to a child: see relaySignals. */
export interface SignalRelay {
  /** From now on, signals go to this child. */
  follow(child: ChildProcess): void;
  /** Stops listening: the signals have their default action again. */
  stop(): void;
}

/**
 * Listens for every signal of FORWARDED_SIGNALS, so that none ends this process while it has a
 * folder to remove, and passes each on to the child it follows (a keyboard's Ctrl-C or Ctrl-\ that
 * reached the child already excepted). Before there is a child, a signal ends this process as its
 * default would: no folder exists yet, and whoever sent it wants the start stopped. Once the child
 * is gone, signals are caught and dropped until `stop()`, so that the folder is still removed.
 *
 * @example
 * const { spawn } = await import('node:child_process');
 * const relay = relaySignals();
 * const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)']);
 * relay.follow(child);
 * process.kill(process.pid, 'SIGUSR2'); // this process lives on; the child gets it
 * child.once('exit', (code, signal) => {
 *   relay.stop();
 *   console.log(signal); // SIGUSR2
 * });
 */
export function relaySignals(): SignalRelay {
  let child: ChildProcess | undefined;
  const stop = () => {
    for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, relay);
  };
  const relay = (signal: NodeJS.Signals) => {
    if (child === undefined) {
      stop();
      process.kill(process.pid, signal);
      return;
    }
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (KEYBOARD_SIGNALS.has(signal) && keyboardReachedChild(child.pid)) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, relay);
  return {
    follow(next) {
      child = next;
    },
    stop,
  };
}
