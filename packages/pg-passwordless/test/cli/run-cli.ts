import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../helpers/run-scenario.ts';

/** The published bin (it runs the built dist: `npm run build` first, as the test script does). */
export const bin = fileURLToPath(new URL('../../bin/pg-passwordless.js', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects when the process ends first. */
  waitFor(text: string): Promise<void>;
  done: Promise<CliResult>;
}

/** Starts `pg-passwordless <args>` with a clean environment plus `env`, from the repository root. */
export function startCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): RunningCli {
  return startProgram(process.execPath, [bin, ...args], env, timeoutMs);
}

/** Starts a program with a clean environment plus `env`, from the repository root; killed at `timeoutMs`. */
export function startProgram(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): RunningCli {
  const child = spawn(file, args, {
    env: { ...cleanEnv(), ...env },
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    async waitFor(text) {
      let ended = false;
      void done.then(() => (ended = true));
      while (!stdout.includes(text)) {
        if (ended) throw new Error(`ended before printing ${text}: ${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

/** Runs `pg-passwordless <args>` to its end. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

/** Runs a program (psql) with a clean environment plus `env`; the secret goes only through `env`. */
export function runProgram(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { ...cleanEnv(), ...env }, cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Whether a program is on the PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}
