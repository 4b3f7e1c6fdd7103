import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findPostgresBinaries } from '../src/backend-postgres.ts';
import { startEmulator } from '../src/index.ts';
import { findPgbouncer } from '../src/pgbouncer.ts';

const holder = fileURLToPath(new URL('./fixtures/hold-emulator.ts', import.meta.url));

/** Running, not a zombie (a container's PID 1 may not reap what it adopts). */
function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every process below `pid`, from /proc. */
function descendants(pid: number): Array<{ pid: number; name: string }> {
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return [{ pid: Number(entry), name, parent }];
      } catch {
        return [];
      }
    });
  const found: Array<{ pid: number; name: string }> = [];
  const walk = (parent: number) => {
    for (const child of processes.filter((candidate) => candidate.parent === parent)) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(pid);
  return found;
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  for (let waitedMs = 0; waitedMs < withinMs; waitedMs += 100) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isRunning(pid);
}

const skip =
  !findPostgresBinaries() || !existsSync('/proc/self/stat') ? 'needs a system PostgreSQL and /proc' : false;

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  describe(`a program that started the emulator ends by ${signal}`, { skip }, () => {
    let folders: { dataDir: string; outDir: string };
    let postmaster: number;
    let pgbouncer: number | undefined;

    before(async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', holder], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      while (!stdout.includes('\n')) {
        if (child.exitCode !== null) assert.fail(`the program exited: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      folders = JSON.parse(stdout);
      postmaster = Number(readFileSync(`${folders.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
      pgbouncer = descendants(child.pid as number).find((process) => process.name === 'pgbouncer')?.pid;
      assert.ok(isRunning(postmaster), 'the postmaster runs while the program does');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    });

    it('its PostgreSQL ends within a few seconds', async () => {
      assert.ok(await gone(postmaster, 5_000), `postmaster ${postmaster} still runs`);
    });

    it('its PgBouncer ends within a few seconds', async (t) => {
      if (!findPgbouncer()) return t.skip('pgbouncer not installed');
      assert.ok(pgbouncer, 'PgBouncer was found running under the program');
      assert.ok(await gone(pgbouncer, 5_000), `pgbouncer ${pgbouncer} still runs`);
    });

    it('the next start removes the folders it left', async () => {
      const next = await startEmulator({ backend: 'pglite' });
      await next.stop();
      assert.equal(existsSync(folders.outDir), false, 'the emulator folder is removed');
      assert.equal(existsSync(dirname(folders.dataDir)), false, 'the cluster folder is removed');
    });
  });
}
