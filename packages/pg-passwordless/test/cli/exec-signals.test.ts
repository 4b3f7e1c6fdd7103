// `pg-passwordless exec` and signals, through the bin as a user runs it, against the emulator: every
// signal that would end exec reaches the command, exec waits for it, removes its folder and exits with
// the command's status; at a terminal (a pseudo-terminal from script(1)) Ctrl-C and Ctrl-\ reach the
// command once; after a SIGKILL of exec, the next exec removes the folder it left, and nothing else.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { FORWARDED_SIGNALS } from '../../src/cli/exec-signals.ts';
import { cleanEnv } from '../helpers/run-scenario.ts';
import { bin, hasProgram, repoRoot, runCli, startProgram } from './run-cli.ts';

const signalChild = fileURLToPath(new URL('./fixtures/signal-child.mjs', import.meta.url));

/** What the command printed first: its PID, its parent's (exec's) and its password file. */
interface Ready {
  pid: number;
  ppid: number;
  passfile: string;
}

function readyOf(output: string): Ready {
  const json = /READY (\{.*\})/.exec(output)?.[1];
  assert.ok(json, `the command reported: ${output}`);
  return JSON.parse(json) as Ready;
}

/** exec running signal-child.mjs, with core dumps off (SIGQUIT, SIGABRT, SIGXCPU would leave files). */
function startExec(mode: 'die' | 'count', env: Record<string, string>) {
  const script = 'ulimit -c 0 && exec "$@"';
  const command = [process.execPath, bin, 'exec', '--', process.execPath, signalChild, mode];
  return startProgram('/bin/sh', ['-c', script, 'sh', ...command], env);
}

/** Waits until `check` holds, polling (no timed assertion: the test's own timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 25));
}

describe('pg-passwordless exec and signals', () => {
  let emulator: Emulator;
  // exec's folders go to a private TMPDIR: whatever happens, none is left in the machine's.
  let parent: string;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    parent = mkdtempSync(join(tmpdir(), 'exec-signals-'));
    env = { ...emulator.env, TMPDIR: parent };
  });
  after(async () => {
    await emulator?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  it('a signal before the command starts (the first token still on its way) ends exec as its default would, leaving nothing', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'exec-signals-early-'));
    // Answers stay out for 10 s: exec is waiting for its first token when the signal comes.
    emulator.setFaults({ latencyMs: 10_000 });
    try {
      const before = emulator.counters().identityRequests;
      const running = startExec('die', { ...emulator.env, TMPDIR: folder });
      await until(() => emulator.counters().identityRequests > before);
      process.kill(running.child.pid as number, 'SIGTERM');
      const result = await running.done;
      assert.equal(result.signal, 'SIGTERM', `ended by the signal: ${result.code} ${result.stderr}`);
      assert.doesNotMatch(result.stdout, /READY/, 'the command never started');
      assert.deepEqual(readdirSync(folder), [], 'no folder made');
    } finally {
      emulator.clearFaults();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('passes on exactly the signals of its table (those that end a process and that Node can catch), as --help says', async () => {
    assert.deepEqual([...FORWARDED_SIGNALS].sort(), [
      'SIGABRT',
      'SIGALRM',
      'SIGHUP',
      'SIGINT',
      'SIGIO',
      'SIGPROF',
      'SIGPWR',
      'SIGQUIT',
      'SIGSTKFLT',
      'SIGTERM',
      'SIGUSR1',
      'SIGUSR2',
      'SIGVTALRM',
      'SIGXCPU',
      'SIGXFSZ',
    ]);
    const help = (await runCli(['exec', '--help'], {})).stdout;
    assert.match(
      help,
      /Every signal that would end exec and can be caught \(SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,/,
    );
    assert.match(help, /Ctrl-C and Ctrl-\\ reach the command directly, and only once/);
    assert.match(
      help,
      /one that a killed exec left \(SIGKILL cannot be caught\) is removed by the next exec/,
    );
  });

  for (const signal of FORWARDED_SIGNALS) {
    it(`${signal}: the command gets it, exec waits, removes the folder and exits with 128 + ${constants.signals[signal]}`, async () => {
      const running = startExec('die', env);
      await running.waitFor('READY ');
      const ready = readyOf(running.stdout());
      assert.equal(ready.ppid, running.child.pid, 'exec runs the command itself');
      assert.ok(existsSync(ready.passfile) && ready.passfile.startsWith(parent));
      process.kill(ready.ppid, signal);
      const result = await running.done;
      assert.match(result.stdout, new RegExp(`^got ${signal}$`, 'm'), `the command got it; ${result.stderr}`);
      assert.equal(result.signal, null, 'exec itself was not ended by it');
      assert.equal(result.code, 128 + constants.signals[signal], result.stderr);
      assert.deepEqual(readdirSync(parent), [], 'the folder is removed');
      // SIGUSR1 would open Node's inspector in exec, where the token is, had exec not listened for it.
      assert.doesNotMatch(result.stderr, /Debugger listening/);
    });
  }

  it('SIGPIPE is not passed on: exec lives on (Node ignores it) and the command gets only what follows', async () => {
    const running = startExec('die', env);
    await running.waitFor('READY ');
    const ready = readyOf(running.stdout());
    process.kill(ready.ppid, 'SIGPIPE');
    // Had exec passed SIGPIPE on, the command would have got it first and died of it.
    process.kill(ready.ppid, 'SIGTERM');
    const result = await running.done;
    assert.deepEqual(result.stdout.match(/^got \w+$/gm), ['got SIGTERM']);
    assert.equal(result.code, 128 + constants.signals.SIGTERM, result.stderr);
    assert.deepEqual(readdirSync(parent), [], 'the folder is removed');
  });

  it('after a SIGKILL of exec, the next exec removes the folder it left, and leaves every folder not of a gone owner', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'exec-signals-left-'));
    const tmpEnv = { ...emulator.env, TMPDIR: tmp };
    try {
      const live = startExec('die', tmpEnv);
      await live.waitFor('READY ');
      const liveFolder = dirname(readyOf(live.stdout()).passfile);

      const killed = startExec('die', tmpEnv);
      await killed.waitFor('READY ');
      const killedReady = readyOf(killed.stdout());
      const killedFolder = dirname(killedReady.passfile);
      process.kill(killedReady.ppid, 'SIGKILL');
      process.kill(killedReady.pid, 'SIGKILL'); // the command outlives exec otherwise
      assert.equal((await killed.done).signal, 'SIGKILL');
      // Left behind, token and all (and the child's CA files, when the CA is not the system store's).
      const left = readdirSync(killedFolder);
      assert.ok(left.includes('owner') && left.includes('pgpass'), `left behind: ${left.join(', ')}`);

      const decoys = makeDecoys(tmp, {
        live: JSON.parse(readFileSync(join(liveFolder, 'owner'), 'utf8')),
        gone: JSON.parse(readFileSync(join(killedFolder, 'owner'), 'utf8')),
      });
      const next = startExec('die', tmpEnv);
      await next.waitFor('READY ');
      const nextFolder = dirname(readyOf(next.stdout()).passfile);
      const present = readdirSync(tmp).filter((name) => join(tmp, name) !== nextFolder);
      assert.deepEqual(present.sort(), [...decoys.kept, liveFolder.slice(tmp.length + 1)].sort());
      assert.deepEqual(readdirSync(join(tmp, 'victim')), ['owner'], "a symlink's target is untouched");

      for (const running of [live, next]) {
        process.kill(running.child.pid as number, 'SIGTERM');
        assert.equal((await running.done).code, 128 + constants.signals.SIGTERM);
      }
      assert.deepEqual(readdirSync(tmp).sort(), decoys.kept.sort(), 'both removed their own folders');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

type Owner = Record<string, unknown>;

/**
 * Folders named like exec's in `parent`: those whose owner is gone (by PID reuse, by a reboot) are
 * for the next exec to remove; the others it must leave alone. Returns the names of the kept ones.
 */
function makeDecoys(parent: string, owners: { live: Owner; gone: Owner }): { kept: string[] } {
  const folder = (name: string, owner: Owner | undefined, mode = 0o700) => {
    const path = join(parent, name);
    mkdirSync(path, { mode });
    chmodSync(path, mode);
    if (owner) writeFileSync(join(path, 'owner'), JSON.stringify(owner), { mode: 0o600 });
    return path;
  };
  const { gone, live } = owners;
  // Gone: a running process has the PID now, but started later than the owner did.
  folder('pg-passwordless-exec-reused', { ...live, pid: process.pid, startTicks: '1' });
  // Gone: an owner of an earlier boot.
  if (typeof gone.bootId === 'string') folder('pg-passwordless-exec-reboot', { ...live, bootId: 'earlier' });
  folder('pg-passwordless-exec-unmarked', undefined);
  folder('pg-passwordless-exec-open', gone, 0o755);
  folder('pg-passwordless-exec-other-host', { ...gone, host: 'elsewhere' });
  folder('pg-passwordless-exec-other-namespace', { ...gone, pidNamespace: 'pid:[1]' });
  folder('pg-passwordless-exec-garbled', undefined);
  writeFileSync(join(parent, 'pg-passwordless-exec-garbled', 'owner'), '{"pid": 12', { mode: 0o600 });
  const ownerLink = folder('pg-passwordless-exec-owner-link', undefined);
  symlinkSync(join(folder('victim', gone), 'owner'), join(ownerLink, 'owner'));
  symlinkSync(join(parent, 'victim'), join(parent, 'pg-passwordless-exec-link'));
  writeFileSync(join(parent, 'pg-passwordless-exec-file'), JSON.stringify(gone));
  const kept = [
    'pg-passwordless-exec-unmarked',
    'pg-passwordless-exec-open',
    'pg-passwordless-exec-other-host',
    'pg-passwordless-exec-other-namespace',
    'pg-passwordless-exec-garbled',
    'pg-passwordless-exec-owner-link',
    'pg-passwordless-exec-link',
    'pg-passwordless-exec-file',
    'victim',
  ];
  if (process.getuid?.() === 0) {
    // Another user's folder (root can make one): never removed, whatever its owner file says.
    chownSync(folder('pg-passwordless-exec-other-user', gone), 65534, 65534);
    kept.push('pg-passwordless-exec-other-user');
  }
  return { kept };
}

/**
 * exec in a pseudo-terminal (script(1) makes one and runs exec as its foreground job), with the test
 * typing on its keyboard through script's standard input.
 */
function startInTerminal(mode: 'die' | 'count', env: Record<string, string>) {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, bin, 'exec', '--', process.execPath, signalChild, mode];
  const shellCommand = `ulimit -c 0 && exec ${command.map(quote).join(' ')}`;
  const child = spawn('script', ['-q', '-e', '-c', shellCommand, '/dev/null'], {
    env: { ...cleanEnv(), ...env, SHELL: '/bin/sh' },
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  void done.finally(() => clearTimeout(timer));
  return {
    output: () => output,
    type: (keys: string) => child.stdin.write(keys),
    async waitFor(pattern: RegExp) {
      let ended = false;
      void done.then(() => (ended = true));
      await until(() => pattern.test(output) || ended);
      assert.match(output, pattern);
    },
    async finish() {
      child.stdin.end();
      return done;
    },
  };
}

describe('pg-passwordless exec at a terminal', {
  skip: !hasProgram('script') && 'script(1) is not installed',
}, () => {
  let emulator: Emulator;
  // exec's folders go to a private TMPDIR: whatever happens, none is left in the machine's.
  let parent: string;
  let env: Record<string, string>;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    parent = mkdtempSync(join(tmpdir(), 'exec-signals-'));
    env = { ...emulator.env, TMPDIR: parent };
  });
  after(async () => {
    await emulator?.stop();
    rmSync(parent, { recursive: true, force: true });
  });

  for (const [key, signal, name] of [
    ['\x03', 'SIGINT', 'Ctrl-C'],
    ['\x1c', 'SIGQUIT', 'Ctrl-\\'],
  ] as const) {
    it(`${name}: the terminal sends ${signal} to the command, and exec does not send it a second time`, async () => {
      const terminal = startInTerminal('count', env);
      await terminal.waitFor(/READY \{.*\}/);
      const ready = readyOf(terminal.output());
      assert.ok(ready.passfile.startsWith(parent));
      terminal.type(key);
      await terminal.waitFor(new RegExp(`got ${signal}`));
      // exec handles signals in the order they came: a copy of the keyboard's signal would reach the
      // command before this SIGUSR2, which makes the command print its counts and exit.
      process.kill(ready.ppid, 'SIGUSR2');
      await terminal.waitFor(/COUNTS \{.*\}/);
      const counts = JSON.parse(/COUNTS (\{.*\})/.exec(terminal.output())?.[1] as string);
      assert.deepEqual(counts, { [signal]: 1 }, terminal.output());
      assert.equal(await terminal.finish(), 0, terminal.output());
      assert.deepEqual(readdirSync(parent), [], 'the folder is removed');
    });

    it(`${name} ends a command that does not catch it; exec waits, removes the folder, exits with 128 + ${constants.signals[signal]}`, async () => {
      const terminal = startInTerminal('die', env);
      await terminal.waitFor(/READY \{.*\}/);
      const ready = readyOf(terminal.output());
      assert.ok(ready.passfile.startsWith(parent));
      terminal.type(key);
      assert.equal(await terminal.finish(), 128 + constants.signals[signal], terminal.output());
      assert.match(terminal.output(), new RegExp(`got ${signal}`));
      assert.deepEqual(readdirSync(parent), [], 'the folder is removed');
    });
  }
});
