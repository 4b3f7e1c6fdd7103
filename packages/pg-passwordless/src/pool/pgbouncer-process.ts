import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWatched, type Watched } from '../cli/frame/watchdog.ts';
import { PasswordlessError } from '../core/errors.ts';
import { describeListenAddress, type ListenAddress } from '../proxy/listen-address.ts';

/** PgBouncer running under the supervisor. */
export interface RunningPgbouncer {
  pid: number;
  /** Resolves once PgBouncer has ended (and its supervisor has removed the private folder). */
  exited: Promise<void>;
  hasExited(): boolean;
  /**
   * PgBouncer's safe shutdown (SIGINT: in PgBouncer 1.18, PAUSE then SHUTDOWN: the transactions under
   * way finish, then it exits); after `graceMs`, its fast exit (SIGTERM). Resolves once it has ended.
   */
  shutdown(graceMs: number): Promise<{ cutAtDeadline: boolean }>;
  /** Its fast exit now (SIGTERM, SIGKILL 5 s later); resolves once it has ended. */
  stop(): Promise<void>;
}

/** Longest wait for PgBouncer to listen once started. */
const START_TIMEOUT_MS = 10_000;
/** PgBouncer's own line prefix: its time stamp and process id, which the command's log does not need. */
const PGBOUNCER_PREFIX = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \S+ \[\d+\] /;
/**
 * Raises the open-file limit to the hard limit (each client and each server connection is a file
 * descriptor; the soft limit is often 1024), then becomes PgBouncer itself (same PID).
 */
const RAISE_FILE_LIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"';

/**
 * Starts PgBouncer with the configuration file under the frame's supervisor: when this process ends,
 * SIGKILL included, the supervisor stops PgBouncer (its fast exit, which removes its Unix socket) and
 * removes `folder`. Its log (stderr; the configuration names no logfile) goes to `log` line by line,
 * without its time stamps. Resolves once it listens at `listen`.
 */
export async function startPgbouncer(options: {
  binary: string;
  iniPath: string;
  folder: string;
  listen: ListenAddress;
  runAs: string | undefined;
  log: (line: string) => void;
}): Promise<RunningPgbouncer> {
  const recent: string[] = [];
  const watched = await startWatched('sh', ['-c', RAISE_FILE_LIMIT, options.binary, options.iniPath], {
    stopSignal: 'TERM',
    removeFolder: options.folder,
    runAs: options.runAs,
    // Nothing of the workload's environment (an identity endpoint's secret, a credentials token): a
    // process of PgBouncer's user could read it in /proc when PgBouncer runs as another user than the pool.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    onOutputLine: (line) => {
      const text = line.replace(PGBOUNCER_PREFIX, '');
      recent.push(text);
      if (recent.length > 20) recent.shift();
      options.log(text);
    },
  });
  try {
    await waitUntilListening(options.listen, watched);
  } catch (error) {
    await watched.stop();
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `PgBouncer did not start on ${describeListenAddress(options.listen)}: ${(error as Error).message}.`,
      {
        hint: `${recent.join(' / ') || 'It wrote nothing.'} (PgBouncer's own words; a port in use? a socket folder its user cannot write?)`,
      },
    );
  }
  return {
    pid: watched.pid,
    exited: watched.exited,
    hasExited: watched.hasExited,
    shutdown: (graceMs) => shutdown(watched, graceMs),
    stop: () => watched.stop(),
  };
}

async function shutdown(watched: Watched, graceMs: number): Promise<{ cutAtDeadline: boolean }> {
  signal(watched, 'SIGINT');
  const timer = new AbortController();
  const ended = await Promise.race([
    watched.exited.then(() => true),
    sleep(graceMs, false, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  if (!ended) await watched.stop();
  return { cutAtDeadline: !ended };
}

function signal(watched: Watched, name: NodeJS.Signals): void {
  try {
    process.kill(watched.pid, name);
  } catch {
    // already gone
  }
}

/** Waits until a connection to the address succeeds, PgBouncer ends, or 10 s pass. */
async function waitUntilListening(listen: ListenAddress, watched: Watched): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (watched.hasExited()) throw new Error('it exited');
    if (await accepts(listen)) return;
    await sleep(50);
  }
  throw new Error(`nothing listens there after ${START_TIMEOUT_MS / 1000} s`);
}

function accepts(listen: ListenAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      listen.kind === 'unix' ? connect(listen.path) : connect({ host: listen.host, port: listen.port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
