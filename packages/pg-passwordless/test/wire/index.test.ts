// The `pg-passwordless/wire` entry exports an explicit list: what the proxy, the doctor and the
// emulator's gateway use. Internals (the protocol codes, startup packet parsing, the other message
// builders, connectionScope) stay importable by file inside the package, not from the entry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as wire from '../../src/wire/index.ts';

describe('pg-passwordless/wire', () => {
  it('exports exactly the values its users import', () => {
    assert.deepEqual(Object.keys(wire).sort(), [
      'LoginRefusal',
      'MAX_STARTUP_LENGTH',
      'PacketLengthError',
      'PacketReader',
      'acceptStartup',
      'authenticationCleartextPassword',
      'connectToServer',
      'endThenDestroy',
      'errorFields',
      'fatalError',
      'loginToServer',
      'pipeSession',
      'queryMessage',
      'quoteIdentifier',
      'readPassword',
      'refusal',
      'serveLogin',
      'sslRequest',
      'startTls',
      'startupMessage',
      'typedMessage',
    ]);
  });
});
