// --backend-url takes a postgresql:// URL: its password goes to psql as PGPASSWORD. A libpq key/value
// string (which the library's parser reads too) is refused with a clear error that does not carry the
// string, whose password would otherwise ride along in the URL parser's TypeError (`input`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseEmulatorArgs } from '../src/cli.ts';
import { startEmulator } from '../src/index.ts';

describe('emulator backend URL in key/value form', () => {
  it('is refused with EMULATOR_FAILED, and the password is nowhere in the error', async () => {
    const secret = 'S3cretAdminPassword';
    let caught: unknown;
    try {
      const emulator = await startEmulator({
        backend: { url: `host=127.0.0.1 port=1 dbname=postgres user=postgres password='${secret}'` },
      });
      await emulator.stop();
    } catch (error) {
      caught = error;
    }
    assert.equal((caught as { code?: string })?.code, 'EMULATOR_FAILED', String(caught));
    assert.match(String(caught), /The backend URL must be a postgresql:\/\/ URL/);
    for (let current = caught; current; current = (current as Error).cause) {
      const printed = [
        String(current),
        (current as Error).stack,
        inspect(current, { showHidden: true }),
      ].join('\n');
      assert.ok(!printed.includes(secret), printed);
    }
  });

  it('a --backend-url the shell split: the stray word is refused without being shown', () => {
    const secret = 'S3cretAdminPassword';
    assert.throws(
      () => parseEmulatorArgs(['--backend-url', 'host=127.0.0.1', `password=${secret}`], {}),
      (error: Error & { code?: string }) =>
        error.code === 'CONFIG_INVALID' &&
        /takes no arguments besides its options \(the one given is not shown\)/.test(error.message) &&
        !error.message.includes(secret),
    );
  });
});
