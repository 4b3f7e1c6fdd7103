// A bounded, seeded fuzz of any PostgreSQL-wire endpoint during login: the emulator's gateway today,
// the library's `pg-passwordless proxy` later. It checks what every such endpoint owes its clients,
// whatever it does with a login: malformed input closes the connection at once, a client too slow to
// log in is cut at the handshake timeout, a FATAL ErrorResponse is well formed, and valid logins keep
// working, during and after the abuse. Byte layouts are those of "Message Formats" (protocol 3.0).
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** A seeded PRNG (mulberry32): the same seed replays the same cases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface BackendMessage {
  type: string;
  body: Buffer;
}

/**
 * Splits what a server sent into messages (a type byte, a length word that counts itself, the body).
 * Single-byte answers to SSLRequest / GSSENCRequest ('S', 'N', 'G') must be taken off first.
 */
export function parseBackendMessages(bytes: Buffer): { messages: BackendMessage[]; rest: Buffer } {
  const messages: BackendMessage[] = [];
  let offset = 0;
  while (bytes.length - offset >= 5) {
    const length = bytes.readInt32BE(offset + 1);
    if (length < 4) throw new Error(`a message with length word ${length}`);
    if (bytes.length - offset < 1 + length) break;
    messages.push({
      type: bytes.toString('latin1', offset, offset + 1),
      body: bytes.subarray(offset + 5, offset + 1 + length),
    });
    offset += 1 + length;
  }
  return { messages, rest: bytes.subarray(offset) };
}

/** The fields of an ErrorResponse body by their code: S severity, C SQLSTATE, M message, ... */
export function errorFields(body: Buffer): Record<string, string> {
  if (body.at(-1) !== 0) throw new Error('an ErrorResponse not ended by a zero byte');
  const fields: Record<string, string> = {};
  for (const field of body.subarray(0, -1).toString('utf8').split('\0')) {
    if (field === '') continue;
    fields[field.slice(0, 1)] = field.slice(1);
  }
  return fields;
}

export const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3_0 = 196608;

/** An untyped first packet: its length word, a code, then `rest`. */
export function firstPacket(code: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + rest.length, 0);
  header.writeInt32BE(code, 4);
  return Buffer.concat([header, rest]);
}

export function startupPacket(user: string, database: string): Buffer {
  return firstPacket(PROTOCOL_3_0, Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8'));
}

/** A typed message whose length word is `length`, whatever the body's size. */
export function typedWithLength(type: string, length: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(length, 1);
  return Buffer.concat([header, body]);
}

/** A client connection that records what the server sends and when the server hangs up. */
export class Peer {
  #socket: Socket;
  #received: Buffer[] = [];
  #wake: (() => void) | undefined;
  readonly #openedAt = performance.now();
  /** Milliseconds from connect until the server ended, reset or closed the connection. */
  serverClosedAfterMs: number | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#listen(socket);
  }

  /** Connects with `allowHalfOpen`: like an attacker, the client never closes its side by itself. */
  static open(host: string, port: number): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port, allowHalfOpen: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Peer(socket));
      });
      socket.once('error', reject);
    });
  }

  #listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#received.push(chunk);
      this.#notify();
    });
    const closed = () => {
      this.serverClosedAfterMs ??= performance.now() - this.#openedAt;
      this.#notify();
    };
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', closed);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  get closed(): boolean {
    return this.serverClosedAfterMs !== undefined;
  }

  write(bytes: Buffer): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(bytes);
  }

  /** Bytes received so far (not consumed). */
  received(): Buffer {
    return Buffer.concat(this.#received);
  }

  /** Waits until `done(received)` holds, the server hangs up, or `timeoutMs` passes. */
  async waitFor(done: (received: Buffer) => boolean, timeoutMs: number): Promise<Buffer> {
    const deadline = performance.now() + timeoutMs;
    while (!done(this.received()) && !this.closed && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.received();
  }

  /** Waits for the server to hang up; returns false when it has not within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    await this.waitFor(() => false, timeoutMs);
    return this.closed;
  }

  /**
   * After the server's FIN, whether it really let go of the connection: a write to a socket the server
   * has closed is answered with a reset (EPIPE, ECONNRESET), while a server that only ended its side
   * (half-open, still holding the connection) takes the bytes in silence.
   */
  async resetWithin(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#socket.destroyed && performance.now() < deadline) {
      this.#socket.write(Buffer.from('x'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.#socket.destroyed;
  }

  /** Upgrades to TLS (without verification: the fuzz cares about the wire, not the certificate). */
  async startTls(): Promise<void> {
    const raw = this.#socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    const tls = tlsConnect({ socket: raw, rejectUnauthorized: false });
    this.#socket = tls;
    this.#received = [];
    this.#listen(tls);
    raw.on('close', () => {
      this.serverClosedAfterMs ??= performance.now() - this.#openedAt;
      this.#notify();
    });
    await new Promise<void>((resolve) => {
      tls.once('secureConnect', resolve);
      tls.once('close', resolve);
    });
  }

  /** Forgets what was received (after a negotiation byte or a message has been checked). */
  consume(count: number): void {
    const rest = this.received().subarray(count);
    this.#received = rest.length > 0 ? [rest] : [];
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

export type FuzzCaseKind =
  | 'random-bytes'
  | 'bad-startup-length'
  | 'unsupported-protocol'
  | 'startup-garbage-parameters'
  | 'ssl-then-garbage'
  | 'ssl-with-trailing-bytes'
  | 'gssenc-then-garbage'
  | 'gssenc-twice'
  | 'cancel-junk'
  | 'bad-password-length'
  | 'oversized-password'
  | 'wrong-message-type'
  | 'refused-half-open'
  | 'stall-silent'
  | 'slow-startup'
  | 'stall-after-startup';

/** How often each kind is drawn; cases cut by the timeout are rarer, since each costs a full timeout. */
const KIND_WEIGHTS: Array<[FuzzCaseKind, number]> = [
  ['random-bytes', 12],
  ['bad-startup-length', 8],
  ['unsupported-protocol', 5],
  ['startup-garbage-parameters', 6],
  ['ssl-then-garbage', 6],
  ['ssl-with-trailing-bytes', 4],
  ['gssenc-then-garbage', 5],
  ['gssenc-twice', 3],
  ['cancel-junk', 6],
  ['bad-password-length', 6],
  ['oversized-password', 4],
  ['wrong-message-type', 4],
  ['refused-half-open', 6],
  ['stall-silent', 2],
  ['slow-startup', 2],
  ['stall-after-startup', 2],
];

/**
 * What a case expects of the server once it has sent its bytes: to hang up at once (before the handshake
 * timeout), within the timeout (random bytes may well look like the start of a long packet), at the
 * timeout (a slow client), or nothing (the endpoint took another path, such as no password request).
 */
type Expectation = 'prompt' | 'within-timeout' | 'at-timeout' | 'skip';

export interface WireFuzzOptions {
  host: string;
  port: number;
  /** Logs in with a real client (a fresh connection) and ends the session; rejects when the login fails. */
  validLogin: () => Promise<void>;
  /** The endpoint's handshake timeout: the time a client gets from connecting until its session. */
  handshakeTimeoutMs: number;
  seed: number;
  /** A startup user the endpoint knows (it will not log in: the password is never valid). */
  user?: string;
  database?: string;
  /** Random cases (default 300), run `concurrency` at a time (default 20). */
  cases?: number;
  concurrency?: number;
  /** Valid logins at the end, run `loginConcurrency` at a time (defaults 500 and 50). */
  validLogins?: number;
  loginConcurrency?: number;
  /** Extra time allowed for scheduling on a loaded machine (default 3000 ms). */
  slackMs?: number;
}

export interface WireFuzzReport {
  seed: number;
  cases: number;
  byKind: Partial<Record<FuzzCaseKind, number>>;
  /** One line per broken expectation, each naming the seed, the case and its kind. */
  failures: string[];
  validLogins: number;
  durationMs: number;
}

/**
 * Runs `cases` seeded random abuse cases against a PostgreSQL-wire endpoint, a valid login while
 * they run, `validLogins` valid logins after them, and one more at the end. It never throws on a broken
 * expectation: the report lists them, so the caller asserts once with the seed in the message.
 *
 * @example
 * const report = await fuzzWireEndpoint({ host, port, handshakeTimeoutMs: 2000, seed: 42, validLogin });
 * assert.deepEqual(report.failures, [], `seed ${report.seed}`);
 */
export async function fuzzWireEndpoint(options: WireFuzzOptions): Promise<WireFuzzReport> {
  const started = performance.now();
  const random = seededRandom(options.seed);
  const count = options.cases ?? 300;
  const slackMs = options.slackMs ?? 3_000;
  const failures: string[] = [];
  const byKind: Partial<Record<FuzzCaseKind, number>> = {};
  // Draw every case up front, so the same seed gives the same cases whatever the scheduling.
  const cases = Array.from({ length: count }, (_, index) => {
    const kind = pick(random, KIND_WEIGHTS);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    return { index, kind, seed: Math.floor(random() * 2 ** 32) };
  });
  const context: CaseContext = {
    host: options.host,
    port: options.port,
    user: options.user ?? 'postgres',
    database: options.database ?? 'postgres',
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    slackMs,
  };

  const during = options.validLogin().then(
    () => undefined,
    (error: Error) =>
      failures.push(`seed ${options.seed}: a valid login during the fuzz failed: ${error.message}`),
  );
  await mapLimit(cases, options.concurrency ?? 20, async ({ index, kind, seed }) => {
    const problem = await runCase(kind, seededRandom(seed), context).catch(
      (error: Error) => `threw ${error.message}`,
    );
    if (problem) failures.push(`seed ${options.seed}, case ${index} (${kind}): ${problem}`);
  });
  await during;

  const logins = options.validLogins ?? 500;
  let succeeded = 0;
  await mapLimit(Array.from({ length: logins }), options.loginConcurrency ?? 50, async (_, index) => {
    try {
      await options.validLogin();
      succeeded++;
    } catch (error) {
      failures.push(`seed ${options.seed}: valid login ${index} failed: ${(error as Error).message}`);
    }
  });
  try {
    await options.validLogin();
  } catch (error) {
    failures.push(`seed ${options.seed}: a valid login after the fuzz failed: ${(error as Error).message}`);
  }
  return {
    seed: options.seed,
    cases: count,
    byKind,
    failures,
    validLogins: succeeded,
    durationMs: Math.round(performance.now() - started),
  };
}

interface CaseContext {
  host: string;
  port: number;
  user: string;
  database: string;
  handshakeTimeoutMs: number;
  slackMs: number;
}

/** Runs one case; returns what went wrong, or undefined. */
async function runCase(
  kind: FuzzCaseKind,
  random: () => number,
  context: CaseContext,
): Promise<string | undefined> {
  const peer = await Peer.open(context.host, context.port);
  try {
    const outcome = await CASES[kind](peer, random, context);
    if (outcome === 'skip') return undefined;
    if (!['prompt', 'within-timeout', 'at-timeout'].includes(outcome)) return outcome;
    // Whatever the case did, the server must hang up on its own (the client keeps its side open, as an
    // attacker would): at once for malformed input, at the handshake timeout for a slow client, never later.
    const limit = context.handshakeTimeoutMs + context.slackMs;
    if (!(await peer.closedWithin(limit)))
      return `still open ${limit} ms after connecting (handshake timeout ${context.handshakeTimeoutMs} ms)`;
    const closedAfter = Math.round(peer.serverClosedAfterMs as number);
    if (!(await peer.resetWithin(context.slackMs)))
      return `the server ended its side after ${closedAfter} ms but still holds the connection (half-open)`;
    if (outcome === 'at-timeout' && closedAfter < context.handshakeTimeoutMs * 0.9)
      return `a slow client was cut after ${closedAfter} ms, before the handshake timeout`;
    if (outcome === 'prompt' && closedAfter >= context.handshakeTimeoutMs)
      return `closed only by the handshake timeout (${closedAfter} ms), not at once`;
    return checkErrorResponses(peer.received());
  } finally {
    peer.destroy();
  }
}

/** Any ErrorResponse the server sent must be well formed and FATAL (it ends the connection). */
function checkErrorResponses(received: Buffer): string | undefined {
  if (received.length === 0) return undefined;
  let messages: BackendMessage[];
  try {
    ({ messages } = parseBackendMessages(received));
  } catch (error) {
    return `unparsable answer: ${(error as Error).message}`;
  }
  for (const message of messages) {
    if (message.type !== 'E') continue;
    const fields = errorFields(message.body);
    if (fields.S !== 'FATAL' || !/^[0-9A-Z]{5}$/.test(fields.C ?? '') || !fields.M)
      return `malformed ErrorResponse ${JSON.stringify(fields)}`;
  }
  return undefined;
}

/** Sends one case's bytes; returns what to expect of the server next, or a problem already seen. */
type CaseRunner = (peer: Peer, random: () => number, context: CaseContext) => Promise<Expectation | string>;

const CASES: Record<FuzzCaseKind, CaseRunner> = {
  'random-bytes': async (peer, random) => {
    // Anything at all: a server may wait for more when the first bytes read as a plausible length.
    const bytes = randomBytesFrom(random, 1 + Math.floor(random() * 256));
    writeInChunks(peer, bytes, random);
    return 'within-timeout';
  },
  'bad-startup-length': async (peer, random) => {
    const lengths = [-1, -2_147_483_648, 0, 1, 4, 7, 10_001, 1 << 20, 2_147_483_647];
    const header = Buffer.alloc(8);
    header.writeInt32BE(lengths[Math.floor(random() * lengths.length)] as number, 0);
    header.writeInt32BE(PROTOCOL_3_0, 4);
    writeInChunks(peer, Buffer.concat([header, randomBytesFrom(random, Math.floor(random() * 64))]), random);
    return 'prompt';
  },
  'unsupported-protocol': async (peer, random) => {
    const major = [0, 1, 2, 4, 1234, 65535][Math.floor(random() * 6)] as number;
    peer.write(firstPacket((major << 16) | Math.floor(random() * 10), Buffer.from('user\0x\0\0')));
    return 'prompt';
  },
  'startup-garbage-parameters': async (peer, random) => {
    const variants = [
      Buffer.alloc(0), // no parameters at all, so no user
      Buffer.from('database\0postgres\0\0'), // no user
      randomBytesFrom(random, 1 + Math.floor(random() * 200)), // not NUL-terminated pairs
      Buffer.from('user\0\0\0'), // an empty user
    ];
    peer.write(firstPacket(PROTOCOL_3_0, variants[Math.floor(random() * variants.length)] as Buffer));
    return 'prompt';
  },
  'ssl-then-garbage': async (peer, random, context) => {
    peer.write(firstPacket(SSL_REQUEST));
    const answer = await peer.waitFor((bytes) => bytes.length >= 1, context.slackMs);
    const first = answer.toString('latin1', 0, 1);
    if (first !== 'S' && first !== 'N') return `answered SSLRequest with ${JSON.stringify(first)}`;
    peer.consume(1);
    // Not a TLS record (those start with 20 to 23): the TLS layer must give up at once.
    const garbage = randomBytesFrom(random, 16 + Math.floor(random() * 200));
    garbage.writeInt32BE(-1, 0);
    writeInChunks(peer, garbage, random);
    return 'prompt';
  },
  'ssl-with-trailing-bytes': async (peer, random) => {
    // Bytes sent before the server's answer: PostgreSQL refuses them (CVE-2021-23214). Should they
    // arrive after it instead, they must not read as a TLS record (content types 20 to 23), nor, after
    // an 'N', as the start of a plausible packet: a negative length word.
    const trailing = randomBytesFrom(random, 4 + Math.floor(random() * 64));
    trailing[0] = 0xff;
    peer.write(Buffer.concat([firstPacket(SSL_REQUEST), trailing]));
    return 'prompt';
  },
  'gssenc-then-garbage': async (peer, random, context) => {
    peer.write(firstPacket(GSSENC_REQUEST));
    const answer = await peer.waitFor((bytes) => bytes.length >= 1, context.slackMs);
    if (answer.toString('latin1', 0, 1) !== 'N') return 'did not decline GSSENCRequest with N';
    peer.consume(1);
    const garbage = randomBytesFrom(random, 8 + Math.floor(random() * 200));
    garbage.writeInt32BE(-1 - Math.floor(random() * 1000), 0);
    writeInChunks(peer, garbage, random);
    return 'prompt';
  },
  'gssenc-twice': async (peer, _random, context) => {
    peer.write(firstPacket(GSSENC_REQUEST));
    await peer.waitFor((bytes) => bytes.length >= 1, context.slackMs);
    peer.consume(1);
    peer.write(firstPacket(GSSENC_REQUEST));
    return 'prompt';
  },
  'cancel-junk': async (peer, random) => {
    // A CancelRequest is exactly 16 bytes (length, code, process id, secret key); try others too.
    const size = [0, 4, 8, 12][Math.floor(random() * 4)] as number;
    peer.write(firstPacket(CANCEL_REQUEST, randomBytesFrom(random, size)));
    return 'prompt';
  },
  'bad-password-length': async (peer, random, context) => {
    const state = await untilPasswordRequested(peer, context);
    if (state !== 'password') return state === 'closed' ? 'prompt' : 'skip';
    const lengths = [-1, -2_147_483_648, 0, 1, 3, 2_147_483_647];
    peer.write(
      typedWithLength('p', lengths[Math.floor(random() * lengths.length)] as number, Buffer.from('x\0')),
    );
    return 'prompt';
  },
  'oversized-password': async (peer, random, context) => {
    const state = await untilPasswordRequested(peer, context);
    if (state !== 'password') return state === 'closed' ? 'prompt' : 'skip';
    const size = 20_000 + Math.floor(random() * 200_000);
    peer.write(typedWithLength('p', size + 4, Buffer.alloc(size, 'A')));
    return (await errorResponse(peer, context)) ? 'prompt' : `no ErrorResponse for a ${size}-byte password`;
  },
  'wrong-message-type': async (peer, random, context) => {
    const state = await untilPasswordRequested(peer, context);
    if (state !== 'password') return state === 'closed' ? 'prompt' : 'skip';
    const type = String.fromCharCode(0x41 + Math.floor(random() * 26)); // upper case: never 'p'
    peer.write(typedWithLength(type, 8, Buffer.from('abc\0')));
    return 'prompt';
  },
  'refused-half-open': async (peer, _random, context) => {
    const state = await untilPasswordRequested(peer, context);
    if (state !== 'password') return state === 'closed' ? 'prompt' : 'skip';
    peer.write(typedWithLength('p', 4 + 12, Buffer.from('not-a-token\0')));
    return (await errorResponse(peer, context)) ? 'prompt' : 'no ErrorResponse for a wrong password';
  },
  'stall-silent': async () => 'at-timeout',
  'slow-startup': async (peer, random, context) => {
    // One byte at a time, slower than the timeout allows for the whole packet.
    const packet = startupPacket(context.user, context.database);
    const gapMs = Math.ceil((context.handshakeTimeoutMs * 2) / packet.length) + Math.floor(random() * 20);
    for (const byte of packet) {
      if (peer.closed) break;
      peer.write(Buffer.from([byte]));
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    return 'at-timeout';
  },
  'stall-after-startup': async (peer, _random, context) => {
    // Everything up to the password arrives quickly; the password never does.
    const state = await untilPasswordRequested(peer, context);
    return state === 'password' ? 'at-timeout' : 'skip';
  },
};

/**
 * Negotiates TLS when offered, sends a startup packet and waits for the server's next message:
 * 'password' when it asks for a cleartext password (AuthenticationCleartextPassword, code 3), 'closed'
 * when it hung up (a server that requires TLS refuses a plaintext login), 'other' otherwise.
 */
export async function untilPasswordRequested(
  peer: Peer,
  context: { user: string; database: string; handshakeTimeoutMs: number },
): Promise<'password' | 'closed' | 'other'> {
  peer.write(firstPacket(SSL_REQUEST));
  const answer = await peer.waitFor((bytes) => bytes.length >= 1, context.handshakeTimeoutMs);
  peer.consume(1);
  if (answer.toString('latin1', 0, 1) === 'S') await peer.startTls();
  if (peer.closed) return 'closed';
  peer.write(startupPacket(context.user, context.database));
  const reply = await peer.waitFor(
    (bytes) => parseBackendMessages(bytes).messages.length > 0,
    context.handshakeTimeoutMs,
  );
  const first = parseBackendMessages(reply).messages[0];
  if (first?.type === 'R' && first.body.readInt32BE(0) === 3) {
    peer.consume(1 + 4 + first.body.length);
    return 'password';
  }
  return peer.closed || first?.type === 'E' ? 'closed' : 'other';
}

/** Waits for an ErrorResponse (or the close); true when one arrived. */
async function errorResponse(peer: Peer, context: CaseContext): Promise<boolean> {
  const hasError = (bytes: Buffer) =>
    parseBackendMessages(bytes).messages.some((message) => message.type === 'E');
  return hasError(await peer.waitFor(hasError, context.handshakeTimeoutMs));
}

function randomBytesFrom(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Writes in up to four pieces, so a server must join packets split across reads. */
function writeInChunks(peer: Peer, bytes: Buffer, random: () => number): void {
  let offset = 0;
  const pieces = 1 + Math.floor(random() * 4);
  for (let i = 1; i <= pieces; i++) {
    const end = i === pieces ? bytes.length : offset + Math.floor(random() * (bytes.length - offset));
    if (end > offset) peer.write(bytes.subarray(offset, end));
    offset = end;
  }
}

function pick<T>(random: () => number, weighted: Array<[T, number]>): T {
  const total = weighted.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return (weighted.at(-1) as [T, number])[0];
}

/** Runs `task` over `items`, at most `limit` at a time. */
export async function mapLimit<T>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
