import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * The supervisor, in POSIX sh. It starts the command, prints its PID, and waits on two things: the
 * command ending (then it exits with its status), or its own stdin, a pipe from this Node process,
 * reaching EOF. The kernel closes that pipe when this process ends, however it ends (SIGKILL included:
 * Node cannot ask for PR_SET_PDEATHSIG), so the command is stopped (its stop signal, SIGKILL 5 s later)
 * and its folder removed. Arguments: stop signal, log file ('' for the supervisor's own stderr, a pipe
 * that Node reads), folder to remove ('' for none), command...
 */
const SUPERVISOR = `
signal=$1 log=$2 folder=$3
shift 3
exec 3<&0
if [ -n "$log" ]; then exec 4>>"$log"; else exec 4>&2; fi
"$@" </dev/null >&4 2>&4 3<&- 4>&- &
pid=$!
exec 4>&-
echo "$pid"
(
  nap=
  trap 'kill $nap 2>/dev/null; wait; exit 0' TERM
  read -r _ <&3
  kill -s "$signal" "$pid" 2>/dev/null
  sleep 5 &
  nap=$!
  wait "$nap"
  kill -s KILL "$pid" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
wait "$watcher"
if [ -n "$folder" ]; then rm -rf "$folder"; fi
exit "$status"
`;

export interface WatchOptions {
  /** The signal that stops the command cleanly and fast (PostgreSQL: QUIT, immediate shutdown). */
  stopSignal: 'INT' | 'QUIT' | 'TERM';
  /** Where the command's output goes (appended); without it, each line goes to `onOutputLine`. */
  logFile?: string;
  /**
   * Without a log file: called with each line the command writes (stdout and stderr alike). After this
   * process ends, the command's writes fail (EPIPE) until the supervisor has stopped it.
   */
  onOutputLine?: (line: string) => void;
  /** A folder the supervisor removes once the command has exited. */
  removeFolder?: string;
  /** An OS user to run the supervisor and the command as (through runuser; this process must be root). */
  runAs?: string;
  /** The command's environment (this process's by default): a child that needs none of its secrets gets less. */
  env?: NodeJS.ProcessEnv;
}

/** A command that cannot outlive this process. */
export interface Watched {
  /** The command's own PID (not the supervisor's): it can be signalled, e.g. SIGHUP to reload. */
  pid: number;
  /** Whether the command (and so its supervisor) has ended. */
  hasExited(): boolean;
  /** Resolves once the command has ended and its folder is removed. */
  exited: Promise<void>;
  /** Stops the command (its stop signal, then SIGKILL after 5 s) and waits until it has ended. */
  stop(): Promise<void>;
}

/**
 * Starts a command under a small `sh` supervisor tied to this process by a pipe, so that the command
 * ends when this process ends, even by SIGKILL, without any signal handler in this process (a host
 * program's own signal behaviour stays as it was). The supervisor runs in its own session: a Ctrl-C
 * meant for the host program does not reach it; only this process's end, or `stop()`, does.
 *
 * @example
 * const { mkdtempSync, existsSync } = await import('node:fs');
 * const { tmpdir } = await import('node:os');
 * const { join } = await import('node:path');
 * const folder = mkdtempSync(join(tmpdir(), 'watched-'));
 * const sleeper = await startWatched('sleep', ['60'], {
 *   stopSignal: 'TERM',
 *   logFile: '/dev/null',
 *   removeFolder: folder,
 * });
 * console.log(sleeper.pid > 0, sleeper.hasExited()); // true false
 * await sleeper.stop(); // also what happens, without waiting, when this process dies
 * console.log(sleeper.hasExited(), existsSync(folder)); // true false
 */
export async function startWatched(command: string, args: string[], options: WatchOptions): Promise<Watched> {
  const shArgs = [
    '-c',
    SUPERVISOR,
    'pg-passwordless-watchdog',
    options.stopSignal,
    options.logFile ?? '',
    options.removeFolder ?? '',
    command,
    ...args,
  ];
  const output = options.logFile === undefined ? 'pipe' : 'ignore';
  const spawnOptions: SpawnOptions = {
    detached: true,
    stdio: ['pipe', 'pipe', output],
    env: options.env ?? process.env,
  };
  const child: ChildProcess = options.runAs
    ? spawn('runuser', ['-u', options.runAs, '--', 'sh', ...shArgs], spawnOptions)
    : spawn('sh', shArgs, spawnOptions);
  if (child.stderr) forwardLines(child.stderr as Socket, options.onOutputLine);
  let ended = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      ended = true;
      resolve();
    }),
  );
  child.once('error', () => undefined); // surfaces below as a missing PID and an exit
  const pid = await firstLine(child);
  // Nothing more comes on stdout; stdin stays open (unreferenced) until stop() or this process's end.
  child.stdout?.destroy();
  (child.stdin as Socket).on('error', () => undefined);
  (child.stdin as Socket).unref();
  child.unref();
  if (!Number.isInteger(pid) || pid <= 0) {
    await exited;
    throw new Error(`the supervisor of ${command} did not start it`);
  }
  return {
    pid,
    hasExited: () => ended,
    exited,
    stop: async () => {
      child.ref(); // keep this process up until the command is gone
      child.stdin?.end();
      await exited;
    },
  };
}

/** Hands each line of the command's output on; the stream does not keep this process alive. */
function forwardLines(stream: Socket, onLine: ((line: string) => void) | undefined): void {
  stream.unref();
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => onLine?.(line));
}

function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(Number(text.split('\n')[0]));
    });
    child.once('exit', () => resolve(Number.NaN));
  });
}
