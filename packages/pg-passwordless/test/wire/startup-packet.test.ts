// parseStartupPacket, byte by byte: the layout of a StartupMessage's parameter list as PostgreSQL's
// ProcessStartupPacket checks it (name and value NUL-terminated, the list ended by one more NUL, which
// must be the packet's last byte), and the order of its refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStartupPacket, StartupPacketError, startupMessage } from '../../src/wire/messages.ts';

/** A first packet as sent: its length word, protocol 3.0 (196608), then `list` exactly as given. */
function packetWithList(list: Buffer | string, code = 196608): Buffer {
  const body = typeof list === 'string' ? Buffer.from(list, 'latin1') : list;
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(code, 4);
  return Buffer.concat([header, body]);
}

const LAYOUT = {
  sqlState: '08P01',
  message: 'invalid startup packet layout: expected terminator as last byte',
};

function refusal(packet: Buffer): { sqlState: string; message: string } {
  try {
    parseStartupPacket(packet);
  } catch (error) {
    assert.ok(error instanceof StartupPacketError, `not a StartupPacketError: ${error}`);
    return { sqlState: error.sqlState, message: error.message };
  }
  assert.fail(`accepted ${JSON.stringify(packet.toString('latin1'))}`);
}

describe('parseStartupPacket: the parameter list', () => {
  it('reads pairs up to the terminating NUL that ends the packet', () => {
    const packet = packetWithList('user\0app\0database\0orders\0application_name\0job\0\0');
    assert.deepEqual(parseStartupPacket(packet), {
      kind: 'startup',
      parameters: { user: 'app', database: 'orders', application_name: 'job' },
      minorVersion: 0,
      protocolOptions: [],
      raw: packet,
    });
  });

  it('takes what startupMessage writes (as pg, psql and the proxy’s own upstream login send it)', () => {
    const packet = startupMessage({ user: 'app', options: '-c search_path=a,b', client_encoding: 'UTF8' });
    assert.equal(packet.at(-1), 0);
    const parsed = parseStartupPacket(packet);
    assert.equal(parsed.kind, 'startup');
    assert.deepEqual(parsed.kind === 'startup' && parsed.parameters, {
      user: 'app',
      options: '-c search_path=a,b',
      client_encoding: 'UTF8',
    });
  });

  it('reads names and values as UTF-8 bytes, and an empty value as empty', () => {
    const list = Buffer.concat([Buffer.from('user\0rôle-ü\0application_name\0\0\0', 'utf8')]);
    const parsed = parseStartupPacket(packetWithList(list));
    assert.deepEqual(parsed.kind === 'startup' && parsed.parameters, {
      user: 'rôle-ü',
      application_name: '',
    });
  });

  it('refuses a list whose terminating NUL is missing (the last pair ends the packet)', () => {
    assert.deepEqual(refusal(packetWithList('user\0app\0')), LAYOUT);
    assert.deepEqual(refusal(packetWithList('user\0app\0database\0orders\0')), LAYOUT);
  });

  it('refuses a value cut short, a name without a value, and a name cut short', () => {
    assert.deepEqual(refusal(packetWithList('user\0app')), LAYOUT);
    assert.deepEqual(refusal(packetWithList('user\0app\0database\0')), LAYOUT);
    assert.deepEqual(refusal(packetWithList('user\0app\0data')), LAYOUT);
  });

  it('refuses bytes after the terminator', () => {
    assert.deepEqual(refusal(packetWithList('user\0app\0\0extra')), LAYOUT);
    assert.deepEqual(refusal(packetWithList('user\0app\0\0\0')), LAYOUT);
  });

  it('refuses one lone byte where the terminator belongs (PostgreSQL’s loop would let it through)', () => {
    assert.deepEqual(refusal(packetWithList('user\0app\0X')), LAYOUT);
  });

  it('refuses an empty list: even no parameters at all end with the terminator', () => {
    assert.deepEqual(refusal(packetWithList('')), LAYOUT);
  });

  it('checks the layout before the user name, as PostgreSQL does', () => {
    assert.deepEqual(refusal(packetWithList('database\0orders\0')), LAYOUT);
    assert.deepEqual(refusal(packetWithList('database\0orders\0\0')), {
      sqlState: '28000',
      message: 'no PostgreSQL user name specified in startup packet',
    });
    assert.deepEqual(refusal(packetWithList('\0')), {
      sqlState: '28000',
      message: 'no PostgreSQL user name specified in startup packet',
    });
    assert.deepEqual(refusal(packetWithList('user\0\0\0')).sqlState, '28000', 'an empty user is no user');
  });

  it('checks the protocol version before the layout', () => {
    assert.deepEqual(refusal(packetWithList('user\0app\0', 2 << 16)), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 2.0: server supports 3.0 to 3.0',
    });
  });

  it('keeps protocol options apart, and refuses them too when the list is not terminated', () => {
    const parsed = parseStartupPacket(packetWithList('user\0app\0_pq_.example\x001\0\0', 196610));
    assert.deepEqual(
      parsed.kind === 'startup' && [parsed.parameters, parsed.protocolOptions, parsed.minorVersion],
      [{ user: 'app' }, ['_pq_.example'], 2],
    );
    assert.deepEqual(refusal(packetWithList('user\0app\0_pq_.example\x001\0', 196610)), LAYOUT);
  });
});

describe('parseStartupPacket: the requests sent in place of a startup packet', () => {
  it('tells SSLRequest, GSSENCRequest and CancelRequest by code and exact length', () => {
    assert.deepEqual(parseStartupPacket(packetWithList('', 80877103)), { kind: 'ssl' });
    assert.deepEqual(parseStartupPacket(packetWithList('', 80877104)), { kind: 'gssenc' });
    const cancel = packetWithList(Buffer.alloc(8, 7), 80877102);
    assert.deepEqual(parseStartupPacket(cancel), { kind: 'cancel', raw: cancel });
  });

  it('refuses a packet shorter than its header', () => {
    assert.deepEqual(refusal(Buffer.from([0, 0, 0, 4])), {
      sqlState: '08P01',
      message: 'invalid length of startup packet',
    });
  });
});
