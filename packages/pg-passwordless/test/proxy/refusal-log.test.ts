// The log line of a refused login: the client's text in it is cut short and cannot forge lines.
// test/cli/proxy.test.ts checks the proxy's stderr with psql sending such a name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusedLoginLine } from '../../src/proxy/refusal-log.ts';
import { fatalError } from '../../src/wire/messages.ts';

describe('refusedLoginLine', () => {
  const line = (message: string) => refusedLoginLine('127.0.0.1:5000', fatalError('28000', message));

  it('keeps a message of normal names as it is', () => {
    assert.equal(
      line('role "orders-api" is not permitted to log in'),
      'refused a login from 127.0.0.1:5000: 28000 role "orders-api" is not permitted to log in',
    );
  });

  it('cuts a long quoted name to 128 characters, then … and its length', () => {
    const logged = line(`only "orders-api", not "${'é'.repeat(9_000)}"`);
    assert.equal(
      logged,
      `refused a login from 127.0.0.1:5000: 28000 only "orders-api", not "${'é'.repeat(128)}…" (9000 characters)`,
    );
  });

  it('cuts the whole message at 512 characters when client text stands unquoted', () => {
    // A name with a quote of its own leaves its tail outside the quotes.
    const logged = line(`role "a"${'x'.repeat(9_000)}" is not welcome`);
    const message = logged.slice('refused a login from 127.0.0.1:5000: 28000 '.length);
    assert.equal(message, `role "a"${'x'.repeat(504)}… (9024 characters in all)`);
  });

  it('replaces control characters, so a client cannot start a line of its own', () => {
    const logged = line('role "evil\nrefused a login from 10.0.0.1:1: 28P01 forged\r\u007f" no');
    assert.equal(logged.split('\n').length, 1);
    assert.match(logged, /role "evil\?refused a login from 10\.0\.0\.1:1: 28P01 forged\?\?" no$/);
  });

  it('counts characters, not UTF-16 halves: no emoji is cut in two', () => {
    const logged = line(`role "${'🐘'.repeat(200)}"`);
    assert.ok(logged.endsWith(`"${'🐘'.repeat(128)}…" (200 characters)`), logged);
  });
});
