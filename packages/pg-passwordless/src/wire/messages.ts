/**
 * The few PostgreSQL wire-protocol messages that the proxy and the emulator's gateway speak themselves
 * (protocol 3.0, "Message Formats" in the PostgreSQL docs). Everything after login passes through
 * untouched.
 */

export const PROTOCOL_3_0 = 196608;
/** Request codes sent in place of a protocol version. */
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
/** PostgreSQL refuses startup packets larger than this (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_LENGTH = 10_000;

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; raw: Buffer }
  | {
      kind: 'startup';
      /** The startup parameters, protocol options (`_pq_.*`) left out. */
      parameters: Record<string, string>;
      /** The minor protocol version asked for (3.x); only 3.0 is spoken here. */
      minorVersion: number;
      /** Names of the `_pq_.*` protocol options asked for; none is supported here. */
      protocolOptions: string[];
      raw: Buffer;
    };

/** Startup parameters with this prefix are protocol options, not settings (PostgreSQL's `_pq_.`). */
const PROTOCOL_OPTION_PREFIX = '_pq_.';

/**
 * A first packet PostgreSQL refuses, with the SQLSTATE of its FATAL answer (ProcessStartupPacket).
 *
 * @example
 * try {
 *   parseStartupPacket(startupMessage({ database: 'db' }));
 * } catch (error) {
 *   if (error instanceof StartupPacketError) console.log(error.sqlState, error.message);
 *   // 28000 no PostgreSQL user name specified in startup packet
 * }
 */
export class StartupPacketError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
    this.name = 'StartupPacketError';
  }
}

/**
 * The refusal of a protocol version other than 3.x, also what a second SSLRequest (1234.5679) or
 * GSSENCRequest (1234.5680) gets, since PostgreSQL reads a repeat as a startup packet.
 *
 * @example
 * console.log(unsupportedProtocol(SSL_REQUEST).message);
 * // unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0
 */
export function unsupportedProtocol(code: number): StartupPacketError {
  return new StartupPacketError(
    '0A000',
    `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0 to 3.0`,
  );
}

/**
 * Parses a complete untyped first packet (its length word included). Throws a StartupPacketError on
 * anything malformed.
 *
 * @example
 * const packet = parseStartupPacket(startupMessage({ user: 'app', database: 'db' }));
 * if (packet.kind === 'startup') console.log(packet.parameters); // { user: 'app', database: 'db' }
 */
export function parseStartupPacket(packet: Buffer): StartupPacket {
  if (packet.length < 8) throw new StartupPacketError('08P01', 'invalid length of startup packet');
  const code = packet.readInt32BE(4);
  if (code === SSL_REQUEST && packet.length === 8) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST && packet.length === 8) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST && packet.length === 16) return { kind: 'cancel', raw: packet };
  // Any 3.x is accepted, as by PostgreSQL: a newer minor version is answered with
  // NegotiateProtocolVersion and the session goes on in 3.0.
  if (code >>> 16 !== PROTOCOL_3_0 >>> 16) throw unsupportedProtocol(code);
  const parameters: Record<string, string> = {};
  const protocolOptions: string[] = [];
  for (const [name, value] of parameterPairs(packet.subarray(8))) {
    if (name.startsWith(PROTOCOL_OPTION_PREFIX)) protocolOptions.push(name);
    else parameters[name] = value;
  }
  if (!parameters.user)
    throw new StartupPacketError('28000', 'no PostgreSQL user name specified in startup packet');
  return { kind: 'startup', parameters, minorVersion: code & 0xffff, protocolOptions, raw: packet };
}

/**
 * The name, value pairs of a startup packet's parameter list: NUL-terminated strings, the list ended by
 * an empty name, which must be the packet's last byte. Anything else is refused with PostgreSQL's
 * message (ProcessStartupPacket), before the user name is looked for: a pair cut short, a missing
 * final NUL, bytes past it. (PostgreSQL's own loop lets one lone non-NUL byte at the very end through;
 * it is refused here too, as its message says.)
 */
function parameterPairs(list: Buffer): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let offset = 0;
  while (offset < list.length && list[offset] !== 0) {
    const nameEnd = list.indexOf(0, offset);
    const valueEnd = nameEnd === -1 ? -1 : list.indexOf(0, nameEnd + 1);
    if (valueEnd === -1) break;
    pairs.push([list.toString('utf8', offset, nameEnd), list.toString('utf8', nameEnd + 1, valueEnd)]);
    offset = valueEnd + 1;
  }
  if (offset !== list.length - 1 || list[offset] !== 0) {
    throw new StartupPacketError('08P01', 'invalid startup packet layout: expected terminator as last byte');
  }
  return pairs;
}

/**
 * NegotiateProtocolVersion: the answer to a StartupMessage that asks for a newer minor version or for
 * protocol options. It names the newest version spoken, as a whole version code the way PostgreSQL
 * writes it (196608: 3.0; libpq reads a smaller one as a downgrade below 3.0 and hangs up), and the
 * options not supported; the client then goes on in 3.0 without them, or hangs up.
 *
 * @example
 * const packet = parseStartupPacket(startupMessage({ user: 'app' }, { minorVersion: 2 }));
 * if (packet.kind === 'startup') {
 *   const answer = negotiateProtocolVersion(packet.protocolOptions);
 *   console.log(answer.subarray(0, 1).toString(), answer.readInt32BE(5)); // v 196608
 * }
 */
export function negotiateProtocolVersion(unsupportedOptions: string[]): Buffer {
  const counts = Buffer.alloc(8);
  counts.writeInt32BE(PROTOCOL_3_0, 0);
  counts.writeInt32BE(unsupportedOptions.length, 4);
  const names = unsupportedOptions.map((name) => Buffer.from(`${name}\0`, 'utf8'));
  return typedMessage('v', Buffer.concat([counts, ...names]));
}

/**
 * Encodes a StartupMessage (what a client sends first, after any SSLRequest): protocol 3.0 unless a
 * newer minor version is asked for (tests use that to play a newer client).
 */
export function startupMessage(
  parameters: Record<string, string>,
  { minorVersion = 0 }: { minorVersion?: number } = {},
): Buffer {
  const body = Buffer.from(
    `${Object.entries(parameters)
      .map(([name, value]) => `${name}\0${value}\0`)
      .join('')}\0`,
    'utf8',
  );
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(PROTOCOL_3_0 + minorVersion, 4);
  return Buffer.concat([header, body]);
}

/** A typed backend or frontend message: one type byte, then a length word that counts itself. */
export function typedMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** AuthenticationCleartextPassword: what Azure, RDS and Cloud SQL ask for, since they need the raw token. */
export function authenticationCleartextPassword(): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(3, 0);
  return typedMessage('R', body);
}

/**
 * A FATAL ErrorResponse with a SQLSTATE and text.
 *
 * @example
 * // A server that refuses every login, and what a real client makes of its answer.
 * const { createServer } = await import('node:net');
 * const { default: pg } = await import('pg');
 * const refusal = fatalError('28P01', 'password authentication failed for user "app"');
 * const server = createServer((socket) => socket.once('data', () => socket.end(refusal)));
 * await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
 * const port = (server.address() as { port: number }).port;
 * const client = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: 'x', ssl: false });
 * await client.connect().catch((error) => console.log(error.code, error.message));
 * // 28P01 password authentication failed for user "app"
 * server.close();
 */
export function fatalError(sqlState: string, message: string, hint?: string): Buffer {
  const fields = [`SFATAL`, `VFATAL`, `C${sqlState}`, `M${message}`, ...(hint ? [`H${hint}`] : [])]
    .map((field) => `${field}\0`)
    .join('');
  return typedMessage('E', Buffer.from(`${fields}\0`, 'utf8'));
}

/**
 * The fields of an ErrorResponse or NoticeResponse body by their code: S severity, C SQLSTATE,
 * M message, H hint, ...
 *
 * @example
 * const message = fatalError('28P01', 'password authentication failed for user "app"');
 * console.log(errorFields(message.subarray(5)).C); // 28P01
 */
export function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const field of body.toString('utf8').split('\0')) {
    if (field !== '') fields[field.slice(0, 1)] = field.slice(1);
  }
  return fields;
}

/** AuthenticationOk: the login succeeded; ParameterStatus, BackendKeyData and ReadyForQuery follow. */
export function authenticationOk(): Buffer {
  return typedMessage('R', Buffer.alloc(4));
}

/** The 8-byte SSLRequest: length 8, code 80877103 (1234.5679). The server answers `S` or `N`. */
export function sslRequest(): Buffer {
  const packet = Buffer.alloc(8);
  packet.writeInt32BE(8, 0);
  packet.writeInt32BE(SSL_REQUEST, 4);
  return packet;
}

/** A PasswordMessage: the answer to a cleartext (or MD5) authentication request. */
export function passwordMessage(password: string): Buffer {
  return typedMessage('p', Buffer.from(`${password}\0`, 'utf8'));
}

/** A simple Query message. */
export function queryMessage(sql: string): Buffer {
  return typedMessage('Q', Buffer.from(`${sql}\0`, 'utf8'));
}

/** Reads the password from a PasswordMessage body (a NUL-terminated string). */
export function passwordFromBody(body: Buffer): string {
  const end = body.indexOf(0);
  return body.subarray(0, end === -1 ? body.length : end).toString('utf8');
}

/** Quotes an identifier for SQL ("a""b"). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
