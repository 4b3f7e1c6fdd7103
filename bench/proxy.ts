// pgbench through `pg-passwordless proxy` (TCP loopback and a Unix socket) against pgbench straight to
// the emulator's TLS gateway, in one run, with the emulator and the proxy as real processes started by
// their command lines. Two placements on the same machine: the server on one CPU and the client side
// (pgbench + proxy) on the other, as a deployment has them on two machines; and everything unpinned.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../packages/pg-passwordless-emulator/src/free-port.ts';
import type { BenchSection } from './table.ts';

/** The built `pg-passwordless` bin, and the emulator's; section 10 (bench/pool.ts) starts them too. */
export const CLI = fileURLToPath(
  new URL('../packages/pg-passwordless/bin/pg-passwordless.js', import.meta.url),
);
export const EMULATOR = fileURLToPath(
  new URL('../packages/pg-passwordless-emulator/bin/pg-passwordless-emulator.js', import.meta.url),
);
const ROUNDS = 5;
const CLIENTS = ['-c', '8', '-j', '2'];
/** The port in the Unix socket's name (.s.PGSQL.<port>); the folder is the bench's own, so any will do. */
const UNIX_PORT = 5432;

interface Placement {
  title: string;
  /** Prefixes for the server's command (the emulator, whose gateway and PostgreSQL inherit it) and the client side's. */
  server: string[];
  client: string[];
}

const TWO_MACHINES: Placement = {
  title: 'as on two machines: emulator (gateway + PostgreSQL) on CPU 1; pgbench and the proxy on CPU 0',
  server: ['taskset', '-c', '1'],
  client: ['taskset', '-c', '0'],
};
const ONE_MACHINE: Placement = {
  title: 'all on one shared machine: nothing pinned',
  server: [],
  client: [],
};

const MODES = [
  { name: '-S', label: '-S (select-only)', args: ['-S'], goal: 0.9 },
  { name: '-C', label: '-C -S (a login per transaction)', args: ['-C', '-S'], goal: 0.8 },
] as const;
const PATHS = ['direct', 'tcp', 'unix', 'stunnel'] as const;
type Path = (typeof PATHS)[number];
const PATH_LABELS: Record<Path, string> = {
  direct: 'direct TLS (verify-full, token)',
  tcp: 'proxy, TCP loopback',
  unix: 'proxy, Unix socket',
  stunnel: 'stunnel, TCP (C relay, reference)',
};

interface Sample {
  tps: number;
  /** The proxy's CPU time (user + system) per 1000 transactions; undefined for the direct path. */
  proxyCpuMs: number | undefined;
}

/** What the section 9 tables measure, printed under the last of them. */
function notes(seconds: number): string[] {
  return [
    `   pgbench 8 clients (-c 8 -j 2), ${seconds} s per run, against a 1-scale pgbench database; TPS is the` +
      ` median of ${ROUNDS} runs taken in turn (direct, tcp, unix, stunnel, direct, ...), "runs" lists them.`,
    '   direct: libpq over TLS (sslmode=verify-full) with a token as PGPASSWORD; proxy: sslmode=disable' +
      ' to the local proxy, which logs in over verified TLS with its token cache.',
    '   -C opens a new connection (a login) per transaction; the proxy resumes its TLS sessions, libpq' +
      ' does not. Proxy CPU: utime + stime of the proxy (or stunnel) process during the run, per 1000 transactions.',
    '   stunnel: the same relay in C (OpenSSL, verified TLS, protocol = pgsql), pgbench sending the token itself;' +
      ' what this machine allows any relay, not a goal.',
    '   9a is the deployment shape (the proxy beside its clients, the server elsewhere); in 9b the proxy' +
      ' takes its CPU from the same two cores as the server, so its cost shows in the server’s TPS too.',
  ];
}

/**
 * Runs pgbench -S and -C -S through the proxy and straight to the gateway, in each placement, and
 * reports a table per placement (9a, 9b) as soon as it is measured. Throws when pgbench fails; stops
 * every process it started.
 *
 * @example
 * import { proxyBench } from './proxy.ts';
 * import { sectionText } from './table.ts';
 *
 * await proxyBench((section) => console.log(sectionText(section))); // BENCH_PROXY_SECONDS=4 for shorter runs
 */
export async function proxyBench(report: (section: BenchSection) => void): Promise<void> {
  const seconds = Number(process.env.BENCH_PROXY_SECONDS ?? 8);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error(
      `BENCH_PROXY_SECONDS must be a whole number of seconds, not ${process.env.BENCH_PROXY_SECONDS}`,
    );
  }
  const pgbench = findPgbench();
  // stunnel, when installed, runs the same relay in C (OpenSSL, a thread per connection): what the
  // machine allows any relay, next to what the proxy reaches. It takes the client's password as is.
  const stunnel = findOnPath('stunnel');
  const stunnelNote = stunnel
    ? []
    : ['   (the stunnel reference rows need stunnel: apt-get install stunnel4)'];
  // `taskset -c 0,1` fails when taskset is missing or CPU 0 or 1 is not ours to use.
  const canPin = spawnSync('taskset', ['-c', '0,1', 'true']).status === 0;
  const placements: Array<[string, Placement]> = [
    ['9a', TWO_MACHINES],
    ['9b', ONE_MACHINE],
  ];
  for (const [index, [id, placement]] of placements.entries()) {
    const title = `${id}. pgbench through the proxy vs straight to the TLS gateway, ${placement.title}`;
    const under = index === placements.length - 1 ? [...stunnelNote, ...notes(seconds)] : [];
    if (placement.server.length > 0 && !canPin) {
      report({ id, title, rows: [], notes: ['   skipped: needs taskset and at least 2 CPUs', ...under] });
      continue;
    }
    report({ id, title, rows: await measurePlacement(placement, pgbench, stunnel, seconds), notes: under });
  }
}

async function measurePlacement(
  placement: Placement,
  pgbench: string,
  stunnel: string | undefined,
  seconds: number,
): Promise<Array<Record<string, string>>> {
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-bench-proxy-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const exportFile = join(folder, 'emulator.env');
    // In the foreground, as this process's child: an interrupted bench (Ctrl-C reaches the whole process
    // group; a killed one re-parents it, which it notices) leaves no emulator behind.
    const [command, ...args] = [...placement.server, process.execPath, EMULATOR, '--export-file', exportFile];
    const emulator = spawn(command as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const emulatorExited = new Promise<void>((resolve) => emulator.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (emulator.exitCode !== null || emulator.signalCode !== null) return;
      emulator.kill('SIGTERM');
      await emulatorExited;
    });
    await untilExists(exportFile, emulator);
    const emulatorEnv = readExports(exportFile);
    const env: NodeJS.ProcessEnv = { ...process.env, ...emulatorEnv };
    delete env.PGPASSWORD;
    const gateway = ['-h', emulatorEnv.PGHOST as string, '-p', emulatorEnv.PGPORT as string];

    // The token lives in this process and pgbench's environment only: never in an argument or a log.
    const token = (await runOrThrow('pg-passwordless token', [process.execPath, CLI, 'token'], env)).trim();
    const direct = { ...env, PGPASSWORD: token, PGSSLMODE: 'verify-full' };
    const local = { ...env, PGSSLMODE: 'disable' };
    await runOrThrow('pgbench -i', [...placement.client, pgbench, '-i', '-s', '1', '-q', ...gateway], direct);

    const socketFolder = join(folder, 'socket');
    mkdirSync(socketFolder, { mode: 0o700 });
    const tcpProxy = startProxy(placement.client, ['--listen', '127.0.0.1:0'], env, cleanups);
    const unixProxy = startProxy(
      placement.client,
      ['--listen', socketFolder, '--unix-port', String(UNIX_PORT)],
      env,
      cleanups,
    );
    const tcpPort = /listening on 127\.0\.0\.1:(\d+)/.exec(await tcpProxy.ready)?.[1] as string;
    await unixProxy.ready;

    const targets: Partial<Record<Path, { args: string[]; env: NodeJS.ProcessEnv; proxy?: ChildProcess }>> = {
      direct: { args: gateway, env: direct },
      tcp: { args: ['-h', '127.0.0.1', '-p', tcpPort], env: local, proxy: tcpProxy.child },
      unix: { args: ['-h', socketFolder, '-p', String(UNIX_PORT)], env: local, proxy: unixProxy.child },
    };
    if (stunnel) {
      const relay = await startStunnel(stunnel, placement.client, folder, emulatorEnv, cleanups);
      // libpq sends the token itself (as PGPASSWORD), in the clear to stunnel, which encrypts it.
      targets.stunnel = {
        args: ['-h', '127.0.0.1', '-p', String(relay.port)],
        env: { ...direct, PGSSLMODE: 'disable' },
        proxy: relay.child,
      };
    }
    const paths = PATHS.filter((path) => targets[path] !== undefined);
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        for (const path of paths) {
          const target = targets[path] as { args: string[]; env: NodeJS.ProcessEnv; proxy?: ChildProcess };
          const cpuBefore = target.proxy ? cpuMs(target.proxy) : 0;
          const { tps, transactions } = await runPgbench(
            [
              ...placement.client,
              pgbench,
              '-n',
              ...mode.args,
              ...CLIENTS,
              '-T',
              String(seconds),
              ...target.args,
            ],
            target.env,
          );
          const proxyCpuMs = target.proxy
            ? ((cpuMs(target.proxy) - cpuBefore) * 1000) / transactions
            : undefined;
          const key = `${mode.name} ${path}`;
          samples.set(key, [...(samples.get(key) ?? []), { tps, proxyCpuMs }]);
        }
      }
    }

    const rows: Array<Record<string, string>> = [];
    for (const mode of MODES) {
      const directTps = median((samples.get(`${mode.name} direct`) ?? []).map((sample) => sample.tps));
      for (const path of paths) {
        const runs = samples.get(`${mode.name} ${path}`) ?? [];
        const tps = median(runs.map((sample) => sample.tps));
        const ratio = tps / directTps;
        const cpu = runs.map((sample) => sample.proxyCpuMs).filter((ms) => ms !== undefined);
        rows.push({
          pgbench: mode.label,
          path: PATH_LABELS[path],
          'TPS (median)': formatTps(tps),
          runs: runs.map((sample) => formatTps(sample.tps)).join(' / '),
          'proxy/direct': path === 'direct' ? 'baseline' : `${ratio.toFixed(2)}x`,
          goal:
            path === 'direct' || path === 'stunnel'
              ? '-'
              : `≥ ${mode.goal}x: ${ratio >= mode.goal ? 'met' : 'NOT met'}`,
          'proxy CPU ms / 1000 tx': cpu.length > 0 ? median(cpu).toFixed(1) : '-',
        });
      }
    }
    return rows;
  } finally {
    // Proxies first (they hold sessions to the gateway), then the emulator; every one even if another fails.
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => console.error(`bench cleanup: ${error.message}`));
    }
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * Starts a proxy (or, with `command` 'pool', a pool); `ready` resolves with its stdout once it prints
 * the URL to connect with.
 *
 * @example
 * const cleanups: Array<() => Promise<void>> = [];
 * const proxy = startProxy([], ['--listen', '127.0.0.1:0'], process.env, cleanups);
 * console.log(await proxy.ready); // ... connect with: postgresql://...
 */
export function startProxy(
  prefix: string[],
  listen: string[],
  env: NodeJS.ProcessEnv,
  cleanups: Array<() => Promise<void>>,
  subcommand: 'proxy' | 'pool' = 'proxy',
): { child: ChildProcess; ready: Promise<string> } {
  const [command, ...args] = [
    ...prefix,
    process.execPath,
    CLI,
    subcommand,
    ...listen,
    '--shutdown-grace',
    '0',
  ];
  // taskset execs the command, so the PID is the proxy's own (for /proc/<pid>/stat).
  const child = spawn(command as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('connect with:')) resolve(stdout);
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`${subcommand} ${listen.join(' ')} exited with ${code}: ${stderr}`)),
    );
  });
  return { child, ready };
}

/**
 * Starts stunnel in client mode on a free loopback port, relaying to the emulator's gateway with
 * PostgreSQL's SSLRequest (protocol = pgsql) and the same verification as verify-full: the emulator's
 * CA, the gateway's host name or IP address.
 */
export async function startStunnel(
  stunnel: string,
  prefix: string[],
  folder: string,
  emulatorEnv: Record<string, string>,
  cleanups: Array<() => Promise<void>>,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const host = emulatorEnv.PGHOST as string;
  const config = join(folder, 'stunnel.conf');
  writeFileSync(
    config,
    [
      'foreground = yes',
      'pid =',
      'debug = 3',
      '[pg]',
      'client = yes',
      `accept = 127.0.0.1:${port}`,
      `connect = ${host}:${emulatorEnv.PGPORT}`,
      'protocol = pgsql',
      'verifyChain = yes',
      `CAfile = ${emulatorEnv.PGSSLROOTCERT}`,
      isIP(host) ? `checkIP = ${host}` : `checkHost = ${host}`,
      '',
    ].join('\n'),
  );
  const [command, ...args] = [...prefix, stunnel, config];
  const child = spawn(command as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  });
  // Ready once its port takes connections.
  for (let waited = 0; !(await accepts(port)); waited += 50) {
    if (child.exitCode !== null || waited > 10_000)
      throw new Error(`stunnel did not start: ${stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, port };
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

/**
 * Runs pgbench; throws with its output when it fails or reports failed transactions.
 *
 * @example
 * const { tps } = await runPgbench([findPgbench(), '-n', '-S', '-T', '4'], process.env);
 */
export async function runPgbench(
  command: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ tps: number; transactions: number }> {
  const result = await run(command, env);
  const what = command.slice(command.findIndex((arg) => arg.endsWith('pgbench'))).join(' ');
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(result.stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(result.stdout)?.[1] ?? 0);
  const tps = Number(/^tps = ([\d.]+)/m.exec(result.stdout)?.[1]);
  if (result.code !== 0 || failed > 0 || !(transactions > 0) || !(tps > 0)) {
    throw new Error(
      `${what}: exit ${result.code}, ${failed} failed transactions\n${result.stderr}${result.stdout}`,
    );
  }
  return { tps, transactions };
}

/**
 * Runs a command to its end and returns its stdout; throws with its stderr when it exits non-zero.
 *
 * @example
 * console.log(await runOrThrow('echo', ['echo', 'hi'])); // hi
 */
export async function runOrThrow(
  name: string,
  command: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const result = await run(command, env);
  if (result.code !== 0) throw new Error(`${name} exited with ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function run(
  command: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The emulator's `export NAME=value` lines (values single-quoted by the shell rules when needed).
 *
 * @example
 * console.log(readExports('/tmp/emulator.env').PGHOST); // 127.0.0.1
 */
export function readExports(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of readFileSync(file, 'utf8').matchAll(/^export (\w+)=(.*)$/gm)) {
    const raw = match[2] as string;
    env[match[1] as string] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("'\\''", "'") : raw;
  }
  return env;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuMs(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3, state; utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * pgbench on PATH, else the newest in Debian's /usr/lib/postgresql/<version>/bin.
 *
 * @example
 * console.log(findPgbench()); // /usr/lib/postgresql/15/bin/pgbench
 */
export function findPgbench(): string {
  const onPath = findOnPath('pgbench');
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const file = join(root, version, 'bin', 'pgbench');
    if (existsSync(file)) return file;
  }
  throw new Error('pgbench not found: install PostgreSQL (it comes with the server packages)');
}

/**
 * The median (the upper one of an even count).
 *
 * @example
 * console.log(median([3, 1, 2])); // 2
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * TPS as the tables print it: one decimal under 1000.
 *
 * @example
 * console.log(formatTps(108.74), formatTps(6658.2)); // 108.7 6658
 */
export function formatTps(tps: number): string {
  return tps.toFixed(tps < 1000 ? 1 : 0);
}

/**
 * Waits until `file` exists (the emulator writes it whole once ready), or fails when `child` ends first.
 *
 * @example
 * await untilExists('/tmp/emulator.env', emulator);
 */
export async function untilExists(file: string, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  while (!existsSync(file)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the emulator ended before it was ready: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
