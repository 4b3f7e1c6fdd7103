import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Variables of the developer's machine that would change which credential the SDK picks. */
const SCRUBBED =
  /^(AZURE_|IDENTITY_|MSI_|IMDS_|PG|PG_PASSWORDLESS_|NODE_EXTRA_CA_CERTS$|DATABASE_URL$|AWS_|GOOGLE_|GCE_)/;

/** This process's environment without anything that would pick a credential or a database. */
export function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !SCRUBBED.test(name)));
}

export interface ScenarioResult {
  code: number | null;
  output: Record<string, unknown>;
  stdout: string;
  stderr: string;
}

/**
 * Runs one scenario script in its own process (the Azure SDK keeps managed-identity state process-wide)
 * with a clean environment plus `env`, and returns the JSON it printed last.
 */
export function runScenario(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ScenarioResult> {
  return runScript(fileURLToPath(new URL(`../scenarios/${script}`, import.meta.url)), args, env, timeoutMs);
}

/** Like {@link runScenario}, for a script given by its path (an example). */
export function runScript(
  path: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ScenarioResult> {
  const base = cleanEnv();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path} ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let output: Record<string, unknown> = {};
      try {
        output = JSON.parse(last) as Record<string, unknown>;
      } catch {
        // left empty: the assertions show stdout and stderr
      }
      resolve({ code, output, stdout, stderr });
    });
  });
}
