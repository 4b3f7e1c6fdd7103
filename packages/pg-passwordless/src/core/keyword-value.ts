import { PasswordlessError } from './errors.ts';

// libpq's keyword/value connection strings (PostgreSQL docs, "Keyword/Value Connection Strings"), read
// as libpq's conninfo_parse reads them: `keyword = value` pairs separated by whitespace (C's isspace),
// blanks around "=" allowed, a value single-quoted to hold spaces or be empty, and a backslash taking
// the next character as it is, inside quotes or out (`\'`, `\\`, even `\ `).

/** libpq's keywords (PostgreSQL 18) whose values are no secret: the only values a message may show. */
const SHOWN_KEYWORDS: ReadonlySet<string> = new Set([
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'passfile',
  'require_auth',
  'channel_binding',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'replication',
  'gssencmode',
  'sslmode',
  'sslnegotiation',
  'sslcompression',
  'sslcert',
  'sslkey',
  'sslkeylogfile',
  'sslcertmode',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'min_protocol_version',
  'max_protocol_version',
  'krbsrvname',
  'gsslib',
  'gssdelegation',
  'service',
  'target_session_attrs',
  'load_balance_hosts',
  'oauth_issuer',
  'oauth_client_id',
  'oauth_scope',
]);

/** libpq's keywords whose values are secrets. */
const SECRET_KEYWORDS: ReadonlySet<string> = new Set([
  'password',
  'sslpassword',
  'oauth_client_secret',
  'scram_client_key',
  'scram_server_key',
]);

/** One piece of a key/value string as libpq reads it, with where it is written. */
type Piece =
  | {
      kind: 'pair';
      keyword: string;
      keywordStart: number;
      keywordEnd: number;
      /** The value with its quotes and escapes taken off. */
      value: string;
      /** Where the value is written, quotes included. */
      valueStart: number;
      valueEnd: number;
      quoted: boolean;
      /** False when an opening quote is never closed: the value then runs to the end. */
      closed: boolean;
      /** Blanks between "=" and the value. */
      blankBeforeValue: boolean;
    }
  /** A word with no "=" after it. */
  | { kind: 'word'; text: string; start: number; end: number };

const isBlank = (char: string | undefined): boolean =>
  char === ' ' || char === '\t' || char === '\n' || char === '\v' || char === '\f' || char === '\r';

/** Splits the string into pairs and stray words, as libpq does; never throws. */
function scan(text: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < text.length) {
    if (isBlank(text[at])) {
      at++;
      continue;
    }
    const keywordStart = at;
    while (at < text.length && text[at] !== '=' && !isBlank(text[at])) at++;
    const keywordEnd = at;
    while (isBlank(text[at])) at++;
    const keyword = text.slice(keywordStart, keywordEnd);
    if (text[at] !== '=') {
      pieces.push({ kind: 'word', text: keyword, start: keywordStart, end: keywordEnd });
      continue;
    }
    const afterEquals = at + 1;
    at = afterEquals;
    while (isBlank(text[at])) at++;
    const quoted = text[at] === "'";
    const read = quoted ? readQuoted(text, at) : readPlain(text, at);
    pieces.push({
      kind: 'pair',
      keyword,
      keywordStart,
      keywordEnd,
      value: read.value,
      valueStart: at,
      valueEnd: read.end,
      quoted,
      closed: read.closed,
      blankBeforeValue: at > afterEquals,
    });
    at = read.end;
  }
  return pieces;
}

/** An unquoted value: up to the next blank; a backslash takes the next character as it is. */
function readPlain(text: string, start: number): { value: string; end: number; closed: boolean } {
  let value = '';
  let at = start;
  while (at < text.length && !isBlank(text[at])) {
    if (text[at] === '\\') at++;
    if (at < text.length) value += text[at++];
  }
  return { value, end: at, closed: true };
}

/** A quoted value: up to the closing quote; a backslash takes the next character as it is. */
function readQuoted(text: string, quote: number): { value: string; end: number; closed: boolean } {
  let value = '';
  let at = quote + 1;
  while (at < text.length) {
    if (text[at] === "'") return { value, end: at + 1, closed: true };
    if (text[at] === '\\') at++;
    if (at < text.length) value += text[at++];
  }
  return { value, end: text.length, closed: false };
}

/**
 * `host= port=5432`: libpq skips the blank after "=" and takes `port=5432` as the host. Almost surely
 * a value meant to be empty, and the swallowed pair may be `password=...`, then shown as a host name.
 */
function swallowsNextPair(piece: Extract<Piece, { kind: 'pair' }>): boolean {
  return piece.blankBeforeValue && !piece.quoted && /^[A-Za-z_][A-Za-z0-9_]*=/.test(piece.value);
}

const isKnown = (keyword: string) => SHOWN_KEYWORDS.has(keyword) || SECRET_KEYWORDS.has(keyword);

/** A keyword for a message: named when libpq knows it, else not shown (it may be a pasted secret). */
const nameOf = (keyword: string) => (isKnown(keyword) ? `"${keyword}"` : 'a keyword libpq does not know');

const KEY_VALUE_HINT =
  "Write keyword=value pairs as libpq reads them: host=<server> port=5432 dbname=<database> user=<role> sslmode=verify-full; quote a value that holds spaces or is empty ('a b', ''); inside a value write ' as \\' and \\ as \\\\. Or use a URL: postgresql://<role>@<server>:5432/<database>.";

function syntaxError(problem: string): PasswordlessError {
  return new PasswordlessError(
    'URL_INVALID',
    `The connection string is neither a postgresql:// URL nor valid keyword=value pairs: ${problem}.`,
    { hint: KEY_VALUE_HINT },
  );
}

function wordError(word: string, previous: string | undefined): PasswordlessError {
  if (isKnown(word)) return syntaxError(`"${word}" has no "=" after it`);
  if (previous === undefined) return syntaxError('its first word has no "=" after it');
  // Not shown: `password=two words` leaves "words" here, a part of the password.
  return syntaxError(
    `a word after the value of ${nameOf(previous)} has no "=" after it (quote a value with spaces)`,
  );
}

/**
 * Parses a libpq keyword/value connection string into its keywords and values, in order, a later
 * repeat winning (as libpq). Unknown keywords are kept; libpq itself would refuse them. Throws
 * PasswordlessError(URL_INVALID) where libpq fails (a word with no "=", an unclosed quote, "=" with no
 * keyword), and for `keyword= other=...` (libpq reads `other=...` as the value: see swallowsNextPair).
 * Its messages show no value and no word that is not a libpq keyword, so no password.
 *
 * @example
 * const pairs = parseKeywordValue("host=db.example.com port = 5432 dbname='my orders' user=app password='it\\'s'");
 * console.log(pairs.get('dbname'), pairs.get('port'), pairs.get('password')); // my orders 5432 it's
 * try {
 *   parseKeywordValue("host=db.example.com password='s3cret");
 * } catch (error) {
 *   console.log((error as { code?: string }).code); // URL_INVALID: the value of "password" opens a quote ...
 * }
 */
export function parseKeywordValue(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  let previous: string | undefined;
  for (const piece of scan(text)) {
    if (piece.kind === 'word') throw wordError(piece.text, previous);
    if (piece.keyword === '') throw syntaxError('an "=" has no keyword before it');
    if (!piece.closed)
      throw syntaxError(`the value of ${nameOf(piece.keyword)} opens a quote that is never closed`);
    if (swallowsNextPair(piece)) {
      throw syntaxError(
        `${nameOf(piece.keyword)} has a blank after "=", so libpq would read the next keyword=value as its value (write ${isKnown(piece.keyword) ? piece.keyword : 'it'}='' for an empty value)`,
      );
    }
    pairs.set(piece.keyword, piece.value);
    previous = piece.keyword;
  }
  return pairs;
}

/**
 * A key/value string safe to print: as written, except that `***` replaces the value of every keyword
 * that is not a known non-secret one (`password`, `sslpassword`, an unknown or misspelt keyword), every
 * value whose quote is never closed, every word with no "=" (part of a password with a blank in it, or a
 * token pasted alone), and an unknown keyword itself (a pasted token can hold "=").
 *
 * @example
 * console.log(redactKeywordValue("host=db.example.com user=app password = 'two words' sslmode=verify-full"));
 * // host=db.example.com user=app password = *** sslmode=verify-full
 * console.log(redactKeywordValue("host=db.example.com password=two words")); // host=db.example.com password=*** ***
 */
export function redactKeywordValue(text: string): string {
  const hidden: Array<[start: number, end: number]> = [];
  for (const piece of scan(text)) {
    if (piece.kind === 'word') {
      hidden.push([piece.start, piece.end]);
      continue;
    }
    if (!isKnown(piece.keyword)) hidden.push([piece.keywordStart, piece.keywordEnd]);
    const shown = SHOWN_KEYWORDS.has(piece.keyword) && piece.closed && !swallowsNextPair(piece);
    if (!shown) hidden.push([piece.valueStart, piece.valueEnd]);
  }
  let redacted = text;
  for (const [start, end] of hidden.reverse()) {
    if (end > start) redacted = `${redacted.slice(0, start)}***${redacted.slice(end)}`;
  }
  return redacted;
}
