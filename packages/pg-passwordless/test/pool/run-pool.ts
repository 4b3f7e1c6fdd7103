// `pg-passwordless pool` as a user runs it: the bin, started with the emulator's environment; what it
// prints is all a test knows (the URL for clients, PgBouncer's PID and its private folder).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CliResult, type RunningCli, startCli } from '../cli/run-cli.ts';

/** What a token looks like (an Entra or Google JWT, a Google access token, an RDS presigned URL). */
export const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\.|ya29\.|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;

export interface PoolCli {
  cli: RunningCli;
  /** The URL the pool printed for clients. */
  url: string;
  pgbouncerPid: number;
  /** PgBouncer's private folder. */
  folder: string;
  /** Where /metrics and the probes are, when --http-address was given. */
  http: string | undefined;
}

/**
 * Starts `pg-passwordless pool <args>` and waits for its URL and its PgBouncer line, read as text lines
 * or, with `--log-format json`, from the events `pool_started` and `pgbouncer_started`.
 */
export async function startPoolCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<PoolCli> {
  const cli = startCli(['pool', ...args], env, timeoutMs);
  const format = args.indexOf('--log-format');
  const json = format >= 0 && args[format + 1] === 'json';
  await cli.waitFor(json ? '"event":"pool_started"' : 'connect with: ');
  let started: { url: string; pid: number; folder: string } | undefined;
  while (!started) {
    started = json ? startedFromEvents(cli) : startedFromText(cli);
    if (!started) await sleep(25);
  }
  const http = /health and metrics on (http:\/\/[^\s:]+:\d+)/.exec(cli.stdout())?.[1];
  return { cli, url: started.url, pgbouncerPid: started.pid, folder: started.folder, http };
}

function startedFromText(cli: RunningCli) {
  const line = /PgBouncer \(PID (\d+)[^)]*\) and its files: (\S+)/.exec(cli.stderr());
  const url = /connect with: (\S+)/.exec(cli.stdout())?.[1] as string;
  return line ? { url, pid: Number(line[1]), folder: line[2] as string } : undefined;
}

function startedFromEvents(cli: RunningCli) {
  const find = (text: string, name: string) =>
    text
      .split('\n')
      .filter((line) => line.includes(`"event":"${name}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>)[0];
  const pool = find(cli.stdout(), 'pool_started');
  const pgbouncer = find(cli.stderr(), 'pgbouncer_started');
  if (!pool || !pgbouncer) return undefined;
  return { url: String(pool.connect), pid: Number(pgbouncer.pid), folder: String(pgbouncer.folder) };
}

/**
 * Stops the pool with a signal (null: the test sent its own already) and checks that nothing it
 * printed (PgBouncer's lines included) looks like a token.
 */
export async function stopPool(pool: PoolCli, signal: NodeJS.Signals | null = 'SIGTERM'): Promise<CliResult> {
  if (signal) pool.cli.child.kill(signal);
  const result = await pool.cli.done;
  assert.doesNotMatch(result.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(result.stderr, TOKEN_LIKE, 'no token on stderr');
  return result;
}

/** Whether a process runs (signal 0). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The checks on PgBouncer's folder: 0700, every entry in it 0600 (sockets included), and no file that
 * holds anything like a token.
 */
export function assertPrivateFolder(folder: string): string[] {
  assert.equal((lstatSync(folder).mode & 0o777).toString(8), '700', folder);
  const names = readdirSync(folder);
  for (const name of names) {
    const path = join(folder, name);
    const stat = lstatSync(path);
    assert.equal((stat.mode & 0o777).toString(8), '600', `${name} is 0600`);
    if (stat.isFile()) assert.doesNotMatch(readFileSync(path, 'utf8'), TOKEN_LIKE, `no token in ${name}`);
  }
  return names.sort();
}

/** Every process's command line, as `ps` shows them to any user of the machine. */
export function processArguments(): string {
  return spawnSync('ps', ['-eww', '-o', 'args'], { encoding: 'utf8' }).stdout;
}
