// The messages the proxy and the gateway write, byte by byte, against the layouts of "Message Formats"
// in the PostgreSQL docs (protocol 3.0): a typed message is its type byte, an Int32 length that counts
// itself but not the type byte, then the body; an untyped first packet is an Int32 length that counts
// itself, then an Int32 code. And the parsers of what they read. (The startup parameter list has its
// own file, startup-packet.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authenticationCleartextPassword,
  authenticationOk,
  CANCEL_REQUEST,
  errorFields,
  fatalError,
  GSSENC_REQUEST,
  MAX_STARTUP_LENGTH,
  negotiateProtocolVersion,
  PROTOCOL_3_0,
  parseStartupPacket,
  passwordFromBody,
  passwordMessage,
  queryMessage,
  quoteIdentifier,
  SSL_REQUEST,
  StartupPacketError,
  sslRequest,
  startupMessage,
  typedMessage,
  unsupportedProtocol,
} from '../../src/wire/messages.ts';
import { bytes, hex, text } from './scripted-peer.ts';

describe('the protocol codes', () => {
  it('are PostgreSQL’s: 3.0, and the requests 1234.5678, 1234.5679, 1234.5680 sent in place of a version', () => {
    assert.equal(PROTOCOL_3_0, 0x0003_0000);
    assert.equal(CANCEL_REQUEST, (1234 << 16) | 5678);
    assert.equal(SSL_REQUEST, (1234 << 16) | 5679);
    assert.equal(GSSENC_REQUEST, (1234 << 16) | 5680);
    assert.equal(MAX_STARTUP_LENGTH, 10_000);
  });
});

describe('the untyped first packets a client sends', () => {
  it('SSLRequest: length 8, code 80877103', () => {
    assert.deepEqual(sslRequest(), hex('00 00 00 08  04 d2 16 2f'));
  });

  it('StartupMessage: length, protocol 3.0, name NUL value NUL ..., a final NUL', () => {
    assert.deepEqual(
      startupMessage({ user: 'app', database: 'db' }),
      bytes(hex('00 00 00 1e  00 03 00 00'), text('user\0app\0database\0db\0\0')),
    );
  });

  it('StartupMessage with no parameters is the header and the final NUL', () => {
    assert.deepEqual(startupMessage({}), hex('00 00 00 09  00 03 00 00  00'));
  });

  it('StartupMessage counts UTF-8 bytes, not characters, in its length', () => {
    // "rôle" is 5 bytes: r, c3 b4 (ô), l, e.
    assert.deepEqual(
      startupMessage({ user: 'rôle' }),
      bytes(hex('00 00 00 14  00 03 00 00'), text('user\0'), hex('72 c3 b4 6c 65 00  00')),
    );
  });

  it('StartupMessage for a newer minor version carries it in the low 16 bits', () => {
    assert.deepEqual(
      startupMessage({ user: 'app' }, { minorVersion: 2 }),
      bytes(hex('00 00 00 12  00 03 00 02'), text('user\0app\0\0')),
    );
  });
});

describe('the typed messages written', () => {
  it('typedMessage: type byte, a length that counts itself, the body as given', () => {
    assert.deepEqual(typedMessage('X', Buffer.alloc(0)), hex('58  00 00 00 04'));
    assert.deepEqual(typedMessage('Z', text('I')), hex('5a  00 00 00 05  49'));
    assert.deepEqual(
      typedMessage('S', text('TimeZone\0UTC\0')),
      bytes(hex('53  00 00 00 11'), text('TimeZone\0UTC\0')),
    );
  });

  it('AuthenticationCleartextPassword: R, length 8, Int32 3', () => {
    assert.deepEqual(authenticationCleartextPassword(), hex('52  00 00 00 08  00 00 00 03'));
  });

  it('AuthenticationOk: R, length 8, Int32 0', () => {
    assert.deepEqual(authenticationOk(), hex('52  00 00 00 08  00 00 00 00'));
  });

  it('PasswordMessage: p, length, the password NUL-terminated', () => {
    assert.deepEqual(passwordMessage('tok'), hex('70  00 00 00 08  74 6f 6b 00'));
    assert.deepEqual(passwordMessage('é'), hex('70  00 00 00 07  c3 a9 00'));
    assert.deepEqual(passwordMessage(''), hex('70  00 00 00 05  00'));
  });

  it('PasswordMessage with a token-sized password: a length of 4 + 2000 + 1', () => {
    const message = passwordMessage('t'.repeat(2000));
    assert.equal(message.length, 2006);
    assert.deepEqual(message.subarray(0, 5), hex('70  00 00 07 d5'));
    assert.deepEqual(message.subarray(5, -1), Buffer.alloc(2000, 't'));
    assert.equal(message.at(-1), 0);
  });

  it('Query: Q, length, the SQL NUL-terminated', () => {
    assert.deepEqual(queryMessage('SELECT 1'), bytes(hex('51  00 00 00 0d'), text('SELECT 1\0')));
  });

  it('ErrorResponse (FATAL): fields S, V, C, M, each a code byte and a NUL-terminated string, then a NUL', () => {
    assert.deepEqual(
      fatalError('28P01', 'bad'),
      bytes(
        hex('45  00 00 00 1f'),
        text('SFATAL\0'),
        text('VFATAL\0'),
        text('C28P01\0'),
        text('Mbad\0'),
        hex('00'),
      ),
    );
  });

  it('ErrorResponse with a hint: an H field after M', () => {
    assert.deepEqual(
      fatalError('28000', 'no', 'ask'),
      bytes(
        hex('45  00 00 00 23'),
        text('SFATAL\0VFATAL\0C28000\0'),
        text('Mno\0'),
        text('Hask\0'),
        hex('00'),
      ),
    );
  });

  it('ErrorResponse: an empty hint is no H field, and the length counts UTF-8 bytes', () => {
    assert.deepEqual(fatalError('08P01', 'x', ''), fatalError('08P01', 'x'));
    // "rôle" is 5 bytes: the M field is 4d, 72 c3 b4 6c 65, 00.
    assert.deepEqual(
      fatalError('28000', 'rôle'),
      bytes(hex('45  00 00 00 21'), text('SFATAL\0VFATAL\0C28000\0'), hex('4d 72 c3 b4 6c 65 00  00')),
    );
  });

  it('NegotiateProtocolVersion: v, length, the newest version as a whole code (196608), no option', () => {
    assert.deepEqual(negotiateProtocolVersion([]), hex('76  00 00 00 0c  00 03 00 00  00 00 00 00'));
  });

  it('NegotiateProtocolVersion names each unsupported option, NUL-terminated, after their count', () => {
    assert.deepEqual(
      negotiateProtocolVersion(['_pq_.a', '_pq_.bc']),
      bytes(hex('76  00 00 00 1b  00 03 00 00  00 00 00 02'), text('_pq_.a\0'), text('_pq_.bc\0')),
    );
  });
});

describe('errorFields', () => {
  it('reads every field of a real PostgreSQL ErrorResponse body by its code', () => {
    // What PostgreSQL 15 sends for a wrong password, fields in its order.
    const body = text(
      'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "app"\0Fauth.c\0L330\0Rauth_failed\0\0',
    );
    assert.deepEqual(errorFields(body), {
      S: 'FATAL',
      V: 'FATAL',
      C: '28P01',
      M: 'password authentication failed for user "app"',
      F: 'auth.c',
      L: '330',
      R: 'auth_failed',
    });
  });

  it('reads back what fatalError writes, UTF-8 included', () => {
    assert.deepEqual(errorFields(fatalError('28000', 'rôle "ü"', 'a hint').subarray(5)), {
      S: 'FATAL',
      V: 'FATAL',
      C: '28000',
      M: 'rôle "ü"',
      H: 'a hint',
    });
  });

  it('keeps an empty field, and finds none in an empty body', () => {
    assert.deepEqual(errorFields(text('SERROR\0D\0\0')), { S: 'ERROR', D: '' });
    assert.deepEqual(errorFields(hex('00')), {});
    assert.deepEqual(errorFields(Buffer.alloc(0)), {});
  });
});

describe('passwordFromBody', () => {
  it('reads the password up to its NUL', () => {
    assert.equal(passwordFromBody(text('tok\0')), 'tok');
    assert.equal(passwordFromBody(hex('c3 a9 00')), 'é');
    assert.equal(passwordFromBody(hex('00')), '');
  });

  it('stops at the first NUL, and takes a body without one whole', () => {
    assert.equal(passwordFromBody(text('a\0b\0')), 'a');
    assert.equal(passwordFromBody(text('tok')), 'tok');
    assert.equal(passwordFromBody(Buffer.alloc(0)), '');
  });
});

describe('parseStartupPacket: codes and lengths', () => {
  it('reads what sslRequest and startupMessage write', () => {
    assert.deepEqual(parseStartupPacket(sslRequest()), { kind: 'ssl' });
    const startup = startupMessage({ user: 'app', database: 'db' }, { minorVersion: 2 });
    assert.deepEqual(parseStartupPacket(startup), {
      kind: 'startup',
      parameters: { user: 'app', database: 'db' },
      minorVersion: 2,
      protocolOptions: [],
      raw: startup,
    });
  });

  it('keeps a CancelRequest whole: length 16, code, process id, secret key', () => {
    const cancel = hex('00 00 00 10  04 d2 16 2e  00 00 04 d2  0a 0b 0c 0d');
    assert.deepEqual(parseStartupPacket(cancel), { kind: 'cancel', raw: cancel });
  });

  it('refuses a request code with the wrong length as the unsupported protocol it then reads as', () => {
    assert.throws(() => parseStartupPacket(hex('00 00 00 0c  04 d2 16 2f  00 00 00 00')), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0',
    });
    assert.throws(() => parseStartupPacket(hex('00 00 00 0c  04 d2 16 30  00 00 00 00')), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 1234.5680: server supports 3.0 to 3.0',
    });
    assert.throws(() => parseStartupPacket(hex('00 00 00 0c  04 d2 16 2e  00 00 04 d2')), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 1234.5678: server supports 3.0 to 3.0',
    });
  });

  it('refuses protocol 2.0 and 4.0, and takes any 3.x', () => {
    assert.throws(() => parseStartupPacket(bytes(hex('00 00 00 12  00 02 00 00'), text('user\0app\0\0'))), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 2.0: server supports 3.0 to 3.0',
    });
    assert.throws(() => parseStartupPacket(bytes(hex('00 00 00 12  00 04 00 00'), text('user\0app\0\0'))), {
      sqlState: '0A000',
      message: 'unsupported frontend protocol 4.0: server supports 3.0 to 3.0',
    });
    const parsed = parseStartupPacket(bytes(hex('00 00 00 12  00 03 ff ff'), text('user\0app\0\0')));
    assert.equal(parsed.kind === 'startup' && parsed.minorVersion, 0xffff);
  });

  it('refuses fewer than 8 bytes as an invalid length', () => {
    for (const packet of [Buffer.alloc(0), hex('00 00 00 07  04 d2 16')]) {
      assert.throws(() => parseStartupPacket(packet), {
        name: 'StartupPacketError',
        sqlState: '08P01',
        message: 'invalid length of startup packet',
      });
    }
  });
});

describe('unsupportedProtocol', () => {
  it('names the version as major.minor, with PostgreSQL’s SQLSTATE 0A000', () => {
    const error = unsupportedProtocol(SSL_REQUEST);
    assert.ok(error instanceof StartupPacketError);
    assert.equal(error.name, 'StartupPacketError');
    assert.equal(error.sqlState, '0A000');
    assert.equal(error.message, 'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0');
    assert.equal(
      unsupportedProtocol(0x0002_0001).message,
      'unsupported frontend protocol 2.1: server supports 3.0 to 3.0',
    );
  });
});

describe('quoteIdentifier', () => {
  it('wraps a name in double quotes and doubles the ones inside', () => {
    assert.equal(quoteIdentifier('app'), '"app"');
    assert.equal(quoteIdentifier('a"b'), '"a""b"');
    assert.equal(quoteIdentifier('"'), '""""');
    assert.equal(quoteIdentifier(''), '""');
    assert.equal(quoteIdentifier('orders-api@x'), '"orders-api@x"');
  });
});
