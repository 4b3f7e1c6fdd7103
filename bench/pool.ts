// pgbench through `pg-passwordless pool` (PgBouncer whose server logins go through the pool's own proxy
// with the current token) against pgbench straight to the emulator's TLS gateway, through
// `pg-passwordless proxy`, and through PgBouncer with a static password in its configuration (the same
// PgBouncer, the same settings, logging in straight to the gateway with one token over verified TLS: the
// seat of the design the pool did not keep). One run, all on one machine, nothing pinned; the gateway's
// login counter gives the upstream logins of each run.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWatched } from '../packages/pg-passwordless/src/cli/frame/watchdog.ts';
import { findPgbouncer } from '../packages/pg-passwordless/src/pool/pgbouncer-binary.ts';
import { pgbouncerUser } from '../packages/pg-passwordless/src/pool/run-as.ts';
import { freePort } from '../packages/pg-passwordless-emulator/src/free-port.ts';
import {
  CLI,
  EMULATOR,
  findOnPath,
  findPgbench,
  formatTps,
  median,
  readExports,
  runOrThrow,
  runPgbench,
  startProxy,
  startStunnel,
  untilExists,
} from './proxy.ts';
import type { BenchSection } from './table.ts';

const ROUNDS = 3;
const CLIENTS = ['-c', '8', '-j', '2'];

const PATHS = {
  direct: 'direct TLS (verify-full, token)',
  proxy: 'pg-passwordless proxy',
  static: 'PgBouncer, static password',
  relayed: 'PgBouncer, static password, through stunnel (C relay, reference)',
  pool: 'pg-passwordless pool',
} as const;
type Path = keyof typeof PATHS;

/** What each row is compared with, and the goal of the pool's row. */
const MODES = [
  {
    name: '-C',
    label: '-C -S (a login per transaction)',
    args: ['-C', '-S'],
    paths: ['direct', 'static', 'pool'] as Path[],
    baseline: 'direct' as Path,
    goal: 5,
  },
  {
    name: '-S',
    label: '-S (select-only)',
    args: ['-S'],
    paths: ['direct', 'proxy', 'static', 'relayed', 'pool'] as Path[],
    baseline: 'static' as Path,
    goal: 0.95,
  },
] as const;

interface Target {
  args: string[];
  env: NodeJS.ProcessEnv;
}

interface Sample {
  tps: number;
  loginsPerMinute: number;
}

/**
 * Runs pgbench -C -S and -S through the pool and the other paths, in turn for {@link ROUNDS} rounds,
 * and reports section 10. Throws when pgbench fails; stops every process it started.
 *
 * @example
 * import { poolBench } from './pool.ts';
 * import { sectionText } from './table.ts';
 *
 * await poolBench((section) => console.log(sectionText(section))); // BENCH_POOL_SECONDS=4 for shorter runs
 */
export async function poolBench(report: (section: BenchSection) => void): Promise<void> {
  const seconds = Number(process.env.BENCH_POOL_SECONDS ?? 8);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(
      `BENCH_POOL_SECONDS must be a whole number of seconds, not ${process.env.BENCH_POOL_SECONDS}`,
    );
  }
  const title =
    '10. pgbench through pg-passwordless pool vs straight to the TLS gateway, the proxy, and PgBouncer with a static password; all on one shared machine';
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-bench-pool-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const rows = await measure(folder, cleanups, seconds);
    report({ id: '10', title, rows, notes: notes(seconds) });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => console.error(`bench cleanup: ${error.message}`));
    }
    rmSync(folder, { recursive: true, force: true });
  }
}

function notes(seconds: number): string[] {
  return [
    `   pgbench 8 clients (-c 8 -j 2), ${seconds} s per run, 1-scale database; TPS is the median of ${ROUNDS} runs taken in turn, "runs" lists them.`,
    '   pool: `pg-passwordless pool` (PgBouncer 1.18, session pooling, 20 server connections), each server login through its own proxy with the current token;',
    '   PgBouncer, static password: the same PgBouncer and settings, logging in straight to the gateway over verified TLS with a token written in its configuration.',
    '   ... through stunnel: that PgBouncer with stunnel (C, OpenSSL, protocol = pgsql, verified TLS) between it and the gateway, where the pool has its proxy.',
    '   -C ratios are against direct (each transaction a TLS login with a token); -S ratios against PgBouncer with a static password (the same seat).',
    '   upstream logins / min: logins the TLS gateway accepted during the run (median), per minute.',
  ];
}

async function measure(
  folder: string,
  cleanups: Array<() => Promise<void>>,
  seconds: number,
): Promise<Array<Record<string, string>>> {
  const pgbench = findPgbench();
  const emulatorEnv = await startEmulator(folder, cleanups);
  const env: NodeJS.ProcessEnv = { ...process.env, ...emulatorEnv };
  delete env.PGPASSWORD;
  const gateway = ['-h', emulatorEnv.PGHOST as string, '-p', emulatorEnv.PGPORT as string];
  // The token lives in this process, pgbench's environment and the static PgBouncer's 0600 file only.
  const token = (await runOrThrow('pg-passwordless token', [process.execPath, CLI, 'token'], env)).trim();
  const direct = { ...env, PGPASSWORD: token, PGSSLMODE: 'verify-full' };
  const local = { ...env, PGSSLMODE: 'disable' };
  await runOrThrow('pgbench -i', [pgbench, '-i', '-s', '1', '-q', ...gateway], direct);

  const portOf = async (ready: Promise<string>) => /127\.0\.0\.1:(\d+)/.exec(await ready)?.[1] as string;
  const proxyPort = await portOf(startProxy([], ['--listen', '127.0.0.1:0'], env, cleanups).ready);
  const poolPort = await portOf(startProxy([], ['--listen', '127.0.0.1:0'], env, cleanups, 'pool').ready);
  const gatewayServer = { host: emulatorEnv.PGHOST as string, port: emulatorEnv.PGPORT as string, tls: true };
  const staticPort = await startStaticPgbouncer(emulatorEnv, token, gatewayServer, cleanups);
  const targets: Partial<Record<Path, Target>> = {
    direct: { args: gateway, env: direct },
    proxy: { args: ['-h', '127.0.0.1', '-p', proxyPort], env: local },
    static: { args: ['-h', '127.0.0.1', '-p', String(staticPort)], env: local },
    pool: { args: ['-h', '127.0.0.1', '-p', poolPort], env: local },
  };
  // The pool's seat with a relay in C where the pool has its proxy: what one more relay on the server
  // side costs on this machine whatever it is written in. Left out where stunnel is not installed.
  const stunnel = findOnPath('stunnel');
  if (stunnel) {
    const relay = await startStunnel(stunnel, [], folder, emulatorEnv, cleanups);
    const relayedServer = { host: '127.0.0.1', port: String(relay.port), tls: false };
    const relayedPort = await startStaticPgbouncer(emulatorEnv, token, relayedServer, cleanups);
    targets.relayed = { args: ['-h', '127.0.0.1', '-p', String(relayedPort)], env: local };
  }
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      for (const path of mode.paths) {
        const target = targets[path];
        if (!target) continue;
        const command = [pgbench, '-n', ...mode.args, ...CLIENTS, '-T', String(seconds), ...target.args];
        const before = await gatewayLogins(emulatorEnv);
        const { tps } = await runPgbench(command, target.env);
        const loginsPerMinute = ((await gatewayLogins(emulatorEnv)) - before) * (60 / seconds);
        const key = `${mode.name} ${path}`;
        samples.set(key, [...(samples.get(key) ?? []), { tps, loginsPerMinute }]);
      }
    }
  }
  return MODES.flatMap((mode) => rowsOf(mode, samples));
}

function rowsOf(mode: (typeof MODES)[number], samples: Map<string, Sample[]>): Array<Record<string, string>> {
  const tpsOf = (path: Path) => median((samples.get(`${mode.name} ${path}`) ?? []).map((s) => s.tps));
  const baseline = tpsOf(mode.baseline);
  const measured = mode.paths.filter((path) => samples.has(`${mode.name} ${path}`));
  return measured.map((path) => {
    const runs = samples.get(`${mode.name} ${path}`) ?? [];
    const ratio = tpsOf(path) / baseline;
    return {
      pgbench: mode.label,
      path: PATHS[path],
      'TPS (median)': formatTps(tpsOf(path)),
      runs: runs.map((sample) => formatTps(sample.tps)).join(' / '),
      ratio: path === mode.baseline ? 'baseline' : `${ratio.toFixed(2)}x`,
      goal:
        path === 'pool'
          ? goalText(mode, ratio, measured.includes('relayed') ? tpsOf(path) / tpsOf('relayed') : undefined)
          : '-',
      'upstream logins / min': median(runs.map((sample) => sample.loginsPerMinute)).toFixed(0),
    };
  });
}

/** Met or not; on -S also the pool against the same seat with a C relay where its proxy is. */
function goalText(mode: (typeof MODES)[number], ratio: number, againstRelayed: number | undefined): string {
  const verdict = `≥ ${mode.goal}x: ${ratio >= mode.goal ? 'met' : 'NOT met'}`;
  if (againstRelayed === undefined) return verdict;
  return `${verdict} (${againstRelayed.toFixed(2)}x of the stunnel seat)`;
}

/** The emulator's bin in the foreground, as this process's child; resolves with its exported environment. */
async function startEmulator(
  folder: string,
  cleanups: Array<() => Promise<void>>,
): Promise<Record<string, string>> {
  const exportFile = join(folder, 'emulator.env');
  const emulator = spawn(process.execPath, [EMULATOR, '--export-file', exportFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => emulator.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (emulator.exitCode !== null || emulator.signalCode !== null) return;
    emulator.kill('SIGTERM');
    await exited;
  });
  await untilExists(exportFile, emulator as ChildProcess);
  return readExports(exportFile);
}

/** The gateway's accepted logins so far, from the emulator's control API. */
async function gatewayLogins(emulatorEnv: Record<string, string>): Promise<number> {
  const response = await fetch(new URL('/emulator/counters', emulatorEnv.PG_PASSWORDLESS_EMULATOR_URL), {
    headers: { 'X-Emulator-Secret': emulatorEnv.PG_PASSWORDLESS_EMULATOR_SECRET ?? '' },
  });
  const counters = (await response.json()) as { gateway: { loginsAccepted: number } };
  return counters.gateway.loginsAccepted;
}

/**
 * PgBouncer as an operator would run it without the pool: the token as a static password in its
 * configuration (0600, in a 0700 folder of PgBouncer's user), verify-full TLS to the gateway with the
 * emulator's CA, the pool's settings otherwise. Under the supervisor, so that it ends with the bench.
 */
async function startStaticPgbouncer(
  emulatorEnv: Record<string, string>,
  token: string,
  server: { host: string; port: string; tls: boolean },
  cleanups: Array<() => Promise<void>>,
): Promise<number> {
  // A folder of its own in the temporary folder: PgBouncer's user cannot enter the bench's (0700, ours).
  const own = mkdtempSync(join(tmpdir(), 'pg-passwordless-bench-pgbouncer-'));
  cleanups.push(async () => rmSync(own, { recursive: true, force: true }));
  const port = await freePort();
  copyFileSync(emulatorEnv.PGSSLROOTCERT as string, join(own, 'ca.pem'));
  const files: Record<string, string> = {
    'pgbouncer.ini': [
      '[databases]',
      `* = host=${server.host} port=${server.port} user=${emulatorEnv.PGUSER} password=${token}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(own, 'users.txt')}`,
      'pool_mode = session',
      'default_pool_size = 20',
      // Behind stunnel the relay does TLS (verify-full's checks): PgBouncer talks plain to it on loopback.
      `server_tls_sslmode = ${server.tls ? 'verify-full' : 'disable'}`,
      `server_tls_ca_file = ${join(own, 'ca.pem')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    'users.txt': `"${emulatorEnv.PGUSER}" ""\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(own, name), text, { mode: 0o600 });
  chmodSync(join(own, 'ca.pem'), 0o600);
  // PgBouncer refuses to run as root: the pool's rule, postgres as Debian's package does.
  const runAs = pgbouncerUser(undefined);
  if (runAs) {
    for (const name of ['', 'ca.pem', ...Object.keys(files)])
      chownSync(join(own, name), runAs.uid, runAs.gid);
  }
  const pgbouncer = await startWatched(findPgbouncer(process.env).path, [join(own, 'pgbouncer.ini')], {
    stopSignal: 'TERM',
    logFile: '/dev/null',
    removeFolder: own,
    runAs: runAs?.name,
  });
  cleanups.push(() => pgbouncer.stop());
  while (!(await accepts(port))) {
    if (pgbouncer.hasExited()) throw new Error('the static PgBouncer did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
