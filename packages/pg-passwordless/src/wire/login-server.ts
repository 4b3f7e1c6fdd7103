import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import { type ConnectionScope, connectionScope, endThenDestroy } from './connection-scope.ts';
import {
  fatalError,
  GSSENC_REQUEST,
  MAX_STARTUP_LENGTH,
  negotiateProtocolVersion,
  parseStartupPacket,
  passwordFromBody,
  SSL_REQUEST,
  type StartupPacket,
  StartupPacketError,
  unsupportedProtocol,
} from './messages.ts';
import { PacketLengthError, PacketReader } from './packet-reader.ts';

/** How a login ended badly, for an endpoint's counters. */
export type LoginOutcome = 'loginsRejected' | 'protocolErrors' | 'handshakeTimeouts';

/** A login turned down with a FATAL ErrorResponse, sent before the close as PostgreSQL does. */
export class LoginRefusal extends Error {
  constructor(
    readonly response: Buffer,
    readonly outcome: 'loginsRejected' | 'protocolErrors',
  ) {
    super('login refused');
    this.name = 'LoginRefusal';
  }
}

/** A refusal with PostgreSQL's fields: SQLSTATE, text, and a hint when there is one. */
export function refusal(
  sqlState: string,
  message: string,
  outcome: LoginRefusal['outcome'],
  hint?: string,
): LoginRefusal {
  return new LoginRefusal(fatalError(sqlState, message, hint), outcome);
}

/** The client side of a login: TCP, or TLS once negotiated, and the reader on it. */
export interface ClientConnection {
  raw: Socket;
  client: Duplex;
  reader: PacketReader;
  scope: ConnectionScope;
}

export interface ServeLoginOptions {
  /**
   * Longest a login may take, from accept until the session is piped on (PostgreSQL's
   * authentication_timeout); a client still logging in then is disconnected without a message, as
   * PostgreSQL does.
   */
  handshakeTimeoutMs: number;
  /** Largest packet a client may send during the login (the startup packet, a password). */
  largestPacket: number;
  /** Sees every socket of the connection, so the listener can close them all. */
  track?: (socket: Duplex) => void;
  /** Counts a login that ended badly. */
  count(outcome: LoginOutcome): void;
}

/** What a client may send ahead of the protocol during login, beyond the largest packet it may send. */
const HANDSHAKE_SLACK_BYTES = 64 * 1024;

/**
 * Serves one accepted connection the way a PostgreSQL server does until the session starts: one
 * deadline for the whole login, a LoginRefusal answered with its ErrorResponse, anything else
 * (malformed input, a peer gone mid-login) closed without a word, since the peer may not speak the
 * protocol at all (PostgreSQL logs those as COMMERROR). `login` does the endpoint's part; when it
 * returns, the session is running and the deadline is off.
 *
 * @example
 * // A server that refuses every login, and what a real client makes of its answer.
 * const { createServer } = await import('node:net');
 * const { default: pg } = await import('pg');
 * const server = createServer((socket) =>
 *   serveLogin(socket, { handshakeTimeoutMs: 5_000, largestPacket: 10_000, count: () => {} }, async (connection) => {
 *     const startup = await acceptStartup(connection, {});
 *     if (startup.kind === 'startup') throw refusal('28000', `role "${startup.parameters.user}" is not welcome`, 'loginsRejected');
 *   }),
 * );
 * await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
 * const port = (server.address() as { port: number }).port;
 * const client = new pg.Client({ host: '127.0.0.1', port, user: 'app', ssl: false });
 * await client.connect().catch((error) => console.log(error.code, error.message));
 * // 28000 role "app" is not welcome
 * server.close();
 */
export async function serveLogin(
  raw: Socket,
  options: ServeLoginOptions,
  login: (connection: ClientConnection) => Promise<void>,
): Promise<void> {
  const scope = connectionScope(options.track);
  scope.own(raw);
  raw.once('close', () => scope.closeAll());
  raw.setNoDelay(true);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    options.count('handshakeTimeouts');
    scope.closeAll();
  }, options.handshakeTimeoutMs);
  deadline.unref();
  raw.once('close', () => clearTimeout(deadline));
  const reader = new PacketReader(raw, { maxBufferedBytes: options.largestPacket + HANDSHAKE_SLACK_BYTES });
  const connection: ClientConnection = { raw, client: raw, reader, scope };
  try {
    await login(connection);
    clearTimeout(deadline);
  } catch (error) {
    clearTimeout(deadline);
    if (timedOut) return;
    // A peer gone mid-login counts as such, whatever the login was doing when it noticed.
    if (error instanceof LoginRefusal && !scope.closed) {
      options.count(error.outcome);
      // Read and drop whatever the client still sends (the rest of an oversized password, say): it
      // can no longer fill memory, nor turn the close into a reset that loses the ErrorResponse.
      connection.reader.detach({ pause: false });
      connection.client.resume();
      endThenDestroy(connection.client, error.response);
      return;
    }
    options.count('protocolErrors');
    scope.closeAll();
  }
}

export type AcceptedStartup =
  | { kind: 'cancel'; raw: Buffer }
  | { kind: 'startup'; parameters: Record<string, string>; raw: Buffer; encrypted: boolean };

/**
 * Reads the client's first packets: an SSLRequest (answered `S` with TLS when `secureContext` is
 * given, else `N`), a GSSENCRequest (always `N`), then the StartupMessage or a CancelRequest. On TLS,
 * `connection.client` becomes the TLS socket. Throws a LoginRefusal on what PostgreSQL refuses.
 */
export async function acceptStartup(
  connection: ClientConnection,
  options: { secureContext?: SecureContext | undefined },
): Promise<AcceptedStartup> {
  const { raw, reader, scope } = connection;
  // PostgreSQL allows each request once (ProcessStartupPacket's ssl_done, gss_done): a repeat is read as
  // a startup packet of protocol 1234.5679 or 1234.5680, which it does not support.
  let sslDone = false;
  let gssDone = false;
  for (;;) {
    const first = parseOrRefuse(await reader.readUntyped(MAX_STARTUP_LENGTH));
    if ((first.kind === 'ssl' && sslDone) || (first.kind === 'gssenc' && gssDone)) {
      const { sqlState, message } = unsupportedProtocol(first.kind === 'ssl' ? SSL_REQUEST : GSSENC_REQUEST);
      throw refusal(sqlState, message, 'protocolErrors');
    }
    if (first.kind === 'gssenc') {
      gssDone = true;
      connection.client.write('N');
      continue;
    }
    if (first.kind === 'ssl') {
      sslDone = true;
      if (!options.secureContext) {
        connection.client.write('N');
        continue;
      }
      // Bytes sent before the 'S' would be read as plaintext although the client meant them encrypted.
      if (reader.buffered > 0)
        throw refusal('08P01', 'received unencrypted data after SSL request', 'protocolErrors');
      reader.detach({ pause: false });
      raw.write('S');
      const tlsSocket = new TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
      scope.own(tlsSocket);
      tlsSocket.once('close', () => scope.closeAll());
      reader.attach(tlsSocket);
      connection.client = tlsSocket;
      gssDone = true; // no GSS encryption inside TLS
      continue;
    }
    if (first.kind === 'cancel') return first;
    // As PostgreSQL does at once, before authentication: a client asking for 3.2 (libpq 18 with
    // max_protocol_version=latest) or for protocol options hears that it gets 3.0 without them.
    if (first.minorVersion > 0 || first.protocolOptions.length > 0) {
      connection.client.write(negotiateProtocolVersion(first.protocolOptions));
    }
    return {
      kind: 'startup',
      parameters: first.parameters,
      raw: first.raw,
      encrypted: connection.client !== raw,
    };
  }
}

/**
 * Reads the PasswordMessage that answers an authentication request, refusing (as PostgreSQL does)
 * another message type or a password longer than `maxPasswordBytes`.
 */
export async function readPassword(reader: PacketReader, maxPasswordBytes: number): Promise<string> {
  let message: { type: string; body: Buffer };
  try {
    message = await reader.readTyped(maxPasswordBytes + 4);
  } catch (error) {
    if (!(error instanceof PacketLengthError)) throw error;
    const text =
      error.length > maxPasswordBytes + 4
        ? `password packet too long (${error.length - 4} bytes; at most ${maxPasswordBytes} are accepted)`
        : `invalid message length (${error.length})`;
    throw refusal('08P01', text, 'protocolErrors');
  }
  if (message.type !== 'p') {
    throw refusal(
      '08P01',
      `expected password response, got message type ${message.type.charCodeAt(0)}`,
      'protocolErrors',
    );
  }
  return passwordFromBody(message.body);
}

/** Parses the first packet; a malformed one is answered as PostgreSQL does (FATAL, with its SQLSTATE). */
function parseOrRefuse(packet: Buffer): StartupPacket {
  try {
    return parseStartupPacket(packet);
  } catch (error) {
    if (error instanceof StartupPacketError) throw refusal(error.sqlState, error.message, 'protocolErrors');
    throw error;
  }
}
