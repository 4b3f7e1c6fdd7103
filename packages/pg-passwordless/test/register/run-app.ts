// Runs the apps in ./apps as users run them: plain `node` (no tsx), with `--import
// pg-passwordless/register` resolved through the package's exports to the built dist/register/index.js,
// exactly as it is once published. The apps are a few lines each and never mention pg-passwordless.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Emulator } from 'pg-passwordless-emulator';
import { cleanEnv } from '../helpers/run-scenario.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const apps = fileURLToPath(new URL('./apps/', import.meta.url));
const source = fileURLToPath(new URL('../../src/register/', import.meta.url));
const built = fileURLToPath(new URL('../../dist/register/index.js', import.meta.url));

export interface AppRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the app printed last, if any. */
  output: Record<string, unknown>;
}

/** How the app is started: `--import pg-passwordless/register` (the default), the same through
 * NODE_OPTIONS, the built file by its URL (for a working folder outside the repository), or no preload. */
export type PreloadForm = 'flag' | 'NODE_OPTIONS' | 'file-url' | 'none';

/** Fails when the built preload is missing or older than its source: the test would run old code. */
export function assertBuildIsCurrent(): void {
  assert.ok(existsSync(built), `${built} is missing: run npm run build first`);
  const builtAt = statSync(built).mtimeMs;
  for (const file of readdirSync(source)) {
    assert.ok(
      statSync(join(source, file)).mtimeMs <= builtAt,
      `src/register/${file} is newer than the build: run npm run build first`,
    );
  }
}

/**
 * Runs an app (a path under ./apps) in its own process with a clean environment plus `env`. An app
 * that has not exited after `timeoutMs` is killed and the run fails: an app that does not exit on its
 * own is a finding (a socket or timer left open), never a slow machine.
 */
export function runApp(
  app: string,
  env: Record<string, string>,
  options: { preload?: PreloadForm; cwd?: string; timeoutMs?: number } = {},
): Promise<AppRun> {
  const preload = options.preload ?? 'flag';
  const args =
    preload === 'flag'
      ? ['--import', 'pg-passwordless/register']
      : preload === 'file-url'
        ? ['--import', pathToFileURL(built).href]
        : [];
  const base = cleanEnv();
  // The test runner's own variables are not the app's.
  delete base.NODE_OPTIONS;
  delete base.NODE_TEST_CONTEXT;
  const childEnv: Record<string, string | undefined> = { ...base, ...env };
  if (preload === 'NODE_OPTIONS') childEnv.NODE_OPTIONS = '--import=pg-passwordless/register';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, join(apps, app)], {
      cwd: options.cwd ?? root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not exit on its own; stdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      let output: Record<string, unknown> = {};
      try {
        output = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        // left empty: the assertions show stdout and stderr
      }
      resolve({ code, stdout, stderr, output });
    });
  });
}

/** The client environment of an emulator, without the CA that would let pg verify the gateway on its own. */
export function clientEnv(
  emulator: Emulator,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ...emulator.env,
    NODE_EXTRA_CA_CERTS: undefined,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
