import type { OpsEvent } from '../ops/event-log.ts';
import { errorFields } from '../wire/index.ts';

/**
 * Longest quoted text a log line keeps. PostgreSQL quotes what a client named (a role, a database, a
 * setting's value: `role "x" does not exist`), and so does the proxy; a client may send up to 10,000
 * bytes of it. 128 is more than any PostgreSQL name (63 bytes), so only abuse is cut.
 */
const MAX_QUOTED_CHARS = 128;
/** Longest message a log line keeps: client text may also stand unquoted (a name with a `"` in it). */
const MAX_MESSAGE_CHARS = 512;

/**
 * The log line of a refused login: who, the SQLSTATE and the message sent to the client, with the
 * client's text in it cut short and control characters replaced, so that a client can neither fill
 * the log nor forge lines in it. The client itself gets the whole message.
 *
 * @example
 * const { fatalError } = await import('pg-passwordless/wire');
 * const response = fatalError('28000', `role "${'x'.repeat(9_000)}" is not welcome`);
 * const line = refusedLoginLine('127.0.0.1:50000', response);
 * console.log(line.length, line.slice(-36)); // 213 x…" (9000 characters) is not welcome
 * // refused a login from 127.0.0.1:50000: 28000 role "xx (128 of them) …" (9000 characters) is not welcome
 */
export function refusedLoginLine(peer: string, response: Buffer): string {
  return `refused a login from ${peer}: ${refusalSummary(response)}`;
}

/**
 * The log event of a refused login: {@link refusedLoginLine} as its message, and the peer, the
 * SQLSTATE and the message sent to the client (cut short the same way) as fields.
 *
 * @example
 * const { fatalError } = await import('pg-passwordless/wire');
 * const event = refusedLoginEvent('127.0.0.1:50000', fatalError('53300', 'sorry, too many clients already'));
 * console.log(event.event, event.fields); // login_refused { peer: '127.0.0.1:50000', sqlstate: '53300', error: 'sorry, too many clients already' }
 */
export function refusedLoginEvent(peer: string, response: Buffer): OpsEvent {
  const fields = errorFields(response.subarray(5));
  return {
    level: 'warn',
    event: 'login_refused',
    message: refusedLoginLine(peer, response),
    fields: { peer, sqlstate: fields.C, error: loggableMessage(fields.M ?? '') },
  };
}

/**
 * An ErrorResponse as a log reads it: the SQLSTATE and the message, cut short and made printable as in
 * {@link refusedLoginLine}.
 *
 * @example
 * const { fatalError } = await import('pg-passwordless/wire');
 * console.log(refusalSummary(fatalError('28P01', 'password authentication failed for user "app"\nagain'))); // 28P01 password authentication failed for user "app"?again
 */
export function refusalSummary(response: Buffer): string {
  const fields = errorFields(response.subarray(5));
  return `${fields.C} ${loggableMessage(fields.M ?? '')}`;
}

function loggableMessage(message: string): string {
  const quotedCut = message.replace(/"([^"]*)"/g, (quoted, inner: string) => {
    const length = [...inner].length;
    return length <= MAX_QUOTED_CHARS
      ? quoted
      : `"${firstChars(inner, MAX_QUOTED_CHARS)}…" (${length} characters)`;
  });
  const whole =
    [...quotedCut].length <= MAX_MESSAGE_CHARS
      ? quotedCut
      : `${firstChars(quotedCut, MAX_MESSAGE_CHARS)}… (${[...message].length} characters in all)`;
  return printableLine(whole);
}

/** The first `count` characters, counted in code points so that none is cut in two. */
function firstChars(text: string, count: number): string {
  return [...text].slice(0, count).join('');
}

/** A line for the log: control characters from a client (a user name with a newline) cannot forge lines. */
function printableLine(text: string): string {
  return [...text].map((char) => (char < ' ' || char === '\u007f' ? '?' : char)).join('');
}
