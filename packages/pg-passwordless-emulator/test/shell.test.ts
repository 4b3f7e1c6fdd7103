// The emulator from a shell, as the README shows it: pasted whole, and started with `&` then `kill $!`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../../pg-passwordless/test/helpers/run-scenario.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function bash(script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env: cleanEnv() });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the emulator from a shell', () => {
  it("the README's shell block works pasted whole, and stop ends the emulator", async () => {
    const block = /## From a shell[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'the README has the block');
    const { code, output } = await bash(`${block}\necho "pid=$PG_PASSWORDLESS_EMULATOR_PID"`);
    assert.equal(code, 0, output);
    assert.match(output, /^ orders-api$/m, 'psql printed the role');
    const pid = Number(/pid=(\d+)/.exec(output)?.[1]);
    assert.match(output, new RegExp(`\\(PID ${pid}\\) stopped`));
    assert.equal(isRunning(pid), false);
  });

  it('started with & under npx, kill $! stops the emulator and removes what it created', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'shell-test-'));
    const file = join(folder, 'emulator.env');
    const { code, output } = await bash(`
      npx pg-passwordless-emulator --export-file ${file} >/dev/null 2>&1 &
      until [ -f ${file} ]; do sleep 0.2; done
      . ${file}
      echo "pid=$PG_PASSWORDLESS_EMULATOR_PID ca=$PGSSLROOTCERT"
      kill $!
      wait $! || true`);
    assert.equal(code, 0, output);
    const pid = Number(/pid=(\d+)/.exec(output)?.[1]);
    const ca = /ca=(\S+)/.exec(output)?.[1] as string;
    for (let waitedMs = 0; isRunning(pid) && waitedMs < 10_000; waitedMs += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(isRunning(pid), false, 'the emulator noticed npx was gone and stopped');
    assert.equal(existsSync(ca), false, 'its temporary folder is removed');
    assert.equal(existsSync(file), false, 'the export file it created is removed');
  });
});
