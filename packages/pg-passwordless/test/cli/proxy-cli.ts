import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cleanEnv } from '../helpers/run-scenario.ts';
import { type RunningCli, runProgram, startCli } from './run-cli.ts';

/** What a token looks like (an Entra or Google JWT, a Google access token, an RDS presigned URL). */
export const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\.|ya29\.|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;

export interface StartedProxy {
  proxy: RunningCli;
  /** The URL each target's clients use, in the order of the targets. */
  urls: string[];
  /** Where /metrics and the probes are, when --http-address was given. */
  http: string | undefined;
}

/** Proxies started and not yet ended: a failed assertion must not leave one running. */
const running = new Set<RunningCli>();

/** Kills every proxy still running (an `after` hook's job). */
export async function killStrayProxies(): Promise<void> {
  for (const proxy of running) proxy.child.kill('SIGKILL');
  await Promise.all([...running].map((proxy) => proxy.done));
}

/**
 * Starts `pg-passwordless proxy <args>` and waits until every target listens (`targets` of them),
 * reading the URLs it prints, as text lines or as JSON events.
 */
export async function startProxyCli(
  args: string[],
  env: Record<string, string>,
  targets = 1,
): Promise<StartedProxy> {
  const proxy = startCli(['proxy', ...args], env, 180_000);
  running.add(proxy);
  void proxy.done.then(() => running.delete(proxy));
  const format = args.indexOf('--log-format');
  const json = format >= 0 && args[format + 1] === 'json';
  const urls = () =>
    json
      ? proxy
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"event":"listening"'))
          .map((line) => (JSON.parse(line) as { connect: string }).connect)
      : [...proxy.stdout().matchAll(/^connect with: (\S+)$/gm)].map((match) => match[1] as string);
  await eventually(() => urls().length === targets || proxy.child.exitCode !== null, 'the proxy listens');
  assert.equal(urls().length, targets, `${proxy.stdout()}\n${proxy.stderr()}`);
  const http = /health and metrics on (http:\/\/[^\s:]+:\d+)/.exec(proxy.stdout())?.[1];
  return { proxy, urls: urls(), http };
}

/** Stops the proxy with SIGTERM; nothing it printed looks like a token. */
export async function stopProxy(proxy: RunningCli) {
  proxy.child.kill('SIGTERM');
  const result = await proxy.done;
  assert.doesNotMatch(result.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(result.stderr, TOKEN_LIKE, 'no token on stderr');
  return result;
}

/** psql with nothing of the emulator's environment: all it knows is the URL. */
export const psql = (url: string, sql: string, env: Record<string, string> = {}) =>
  runProgram('psql', ['-X', '-At', '-d', url, '-c', sql], env);

/** GETs a path of the endpoints: its status and body. */
export async function get(base: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: await response.text() };
}

/**
 * Waits until `check` holds, looking every 50 ms; a guard against a hang, not a speed goal, fails after
 * 60 s saying what never happened.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let waitedMs = 0; !(await check()); waitedMs += 50) {
    if (waitedMs > 60_000) assert.fail(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A psql session held open (an interactive psql reading from a pipe) until `close()`. */
export interface HeldSession {
  close(): Promise<void>;
}

/** Opens a psql session and waits until it has run a query, so the session is fully logged in. */
export async function holdPsqlSession(url: string): Promise<HeldSession> {
  const child = spawn('psql', ['-X', '-At', '-d', url], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdin.write("select 'in session';\n");
  await eventually(() => stdout.includes('in session') || child.exitCode !== null, 'psql logs in');
  assert.ok(stdout.includes('in session'), stderr);
  return {
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
