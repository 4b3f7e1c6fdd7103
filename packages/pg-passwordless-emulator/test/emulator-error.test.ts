// The emulator's errors are its own (it depends on nothing of the library but the wire code): a stable
// code, a hint on the message's last line, the cause kept; and both commands that run it, its own bin and
// the library's `pg-passwordless emulator`, report them as "<code>: <message>" without a stack trace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, runProgram } from '../../pg-passwordless/test/cli/run-cli.ts';
import { parseEmulatorArgs, runEmulatorCommand } from '../src/cli.ts';
import { EmulatorError, startEmulator } from '../src/index.ts';

const emulatorBin = fileURLToPath(new URL('../bin/pg-passwordless-emulator.js', import.meta.url));

/** A stream that keeps what is written to it. */
function capture(): { stream: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { write: (chunk: string) => chunks.push(chunk) > 0 } as NodeJS.WritableStream;
  return { stream, text: () => chunks.join('') };
}

describe('EmulatorError', () => {
  it('has a stable code, the hint as its own field and as the message’s last line, and keeps the cause', () => {
    const cause = new Error('initdb: could not create directory');
    const error = new EmulatorError('EMULATOR_FAILED', 'The private PostgreSQL cluster did not start.', {
      cause,
      hint: 'See the cause for the initdb or server output.',
    });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'EmulatorError');
    assert.equal(error.code, 'EMULATOR_FAILED');
    assert.equal(error.hint, 'See the cause for the initdb or server output.');
    assert.equal(
      error.message,
      'The private PostgreSQL cluster did not start.\nHint: See the cause for the initdb or server output.',
    );
    assert.equal(error.cause, cause);
    assert.equal(new EmulatorError('CONFIG_INVALID', 'No hint.').message, 'No hint.');
  });

  it('is what the emulator throws: a host that is not loopback, a bad flag', async () => {
    await assert.rejects(startEmulator({ host: '0.0.0.0' }), (error: unknown) => {
      assert.ok(error instanceof EmulatorError, String(error));
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.match(error.message, /^The emulator listens on loopback only, not on "0\.0\.0\.0"\.\nHint: /);
      return true;
    });
    assert.throws(
      () => parseEmulatorArgs(['--cloud', 'oracle'], {}),
      (error: unknown) => error instanceof EmulatorError && error.code === 'CONFIG_INVALID',
    );
  });
});

describe('reporting an EmulatorError', () => {
  const expected =
    'CONFIG_INVALID: --cloud must be one of azure, aws, gcp, not "oracle".\nHint: Run "pg-passwordless-emulator --help".\n';

  it('runEmulatorCommand writes code, message and hint to stderr and resolves with 1', async () => {
    const stdout = capture();
    const stderr = capture();
    const code = await runEmulatorCommand(['--cloud', 'oracle'], {
      stdout: stdout.stream,
      stderr: stderr.stream,
    });
    assert.equal(code, 1);
    assert.equal(stderr.text(), `pg-passwordless-emulator: ${expected}`);
    assert.equal(stdout.text(), '');
  });

  it('pg-passwordless-emulator (the bin) exits 1 with that line and no stack trace', async () => {
    const result = await runProgram(process.execPath, [emulatorBin, '--cloud', 'oracle'], {});
    assert.equal(result.code, 1, result.stdout);
    assert.equal(result.stderr, `pg-passwordless-emulator: ${expected}`);
  });

  it('pg-passwordless emulator (the library’s pass-through) says the same', async () => {
    const result = await runCli(['emulator', '--cloud', 'oracle'], {});
    assert.equal(result.code, 1, result.stdout);
    assert.equal(result.stderr, `pg-passwordless-emulator: ${expected}`);
  });
});
