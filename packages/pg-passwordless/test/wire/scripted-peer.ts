// What the wire tests need to spell out bytes and play the other side of a connection: hex and text
// as Buffers, a connected TCP socket pair on loopback, and a peer that reads exact byte counts.
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Bytes from hex pairs (spaces and line breaks ignored): the layouts of "Message Formats", spelled out. */
export function hex(pairs: string): Buffer {
  const digits = pairs.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) throw new Error(`not hex pairs: ${pairs}`);
  return Buffer.from(digits, 'hex');
}

/** A string's UTF-8 bytes (NUL terminators written as `\0`). */
export function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** Concatenates byte parts. */
export function bytes(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

/** For a suite that waits on bytes: one that never comes fails the test instead of hanging the run. */
export const FAIL_INSTEAD_OF_HANGING = { timeout: 30_000 };

/** One turn of the event loop: lets the bytes written so far be delivered and read. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The side of a connection a test plays by hand: it reads exactly the bytes it expects (all that
 * arrived is kept, in order, whatever the chunking) and writes exactly the bytes it chooses.
 */
export class ScriptedPeer {
  readonly socket: Duplex;
  #received: Buffer[] = [];
  #length = 0;
  #closed = false;
  #wake: () => void = () => {};

  readonly #onData = (chunk: Buffer) => {
    this.#received.push(chunk);
    this.#length += chunk.length;
    this.#wake();
  };

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', this.#onData);
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** Stops reading the socket (before TLS takes it over); returns the bytes not yet read. */
  release(): Buffer {
    this.socket.off('data', this.#onData);
    return this.#take(this.#length);
  }

  /** The next `count` bytes received; rejects when the connection closes first. */
  async read(count: number): Promise<Buffer> {
    while (this.#length < count) {
      if (this.#closed) {
        throw new Error(
          `closed after ${this.#length} of ${count} bytes: ${this.#take(this.#length).toString('hex')}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#take(count);
  }

  /** Everything received from here until the connection closes. */
  async readToEnd(): Promise<Buffer> {
    while (!this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#take(this.#length);
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.#length;
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  #take(count: number): Buffer {
    const all = Buffer.concat(this.#received, this.#length);
    this.#received = [all.subarray(count)];
    this.#length -= count;
    return all.subarray(0, count);
  }
}

/** A listener on 127.0.0.1, port 0 (a free one), and its port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/**
 * Two TCP sockets connected to each other on loopback: `near` dialled, `far` accepted. With
 * `allowHalfOpen`, `far` keeps its side open after `near` ends (a peer that never closes).
 */
export async function socketPair({ allowHalfOpen = false } = {}): Promise<{ near: Socket; far: Socket }> {
  const server = createServer({ allowHalfOpen });
  const port = await listenOnLoopback(server);
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const near = netConnect(port, '127.0.0.1');
  await once(near, 'connect');
  const [far] = await accepted;
  server.close();
  // Small writes go out at once (no Nagle delay): the tests send some a byte at a time.
  near.setNoDelay(true);
  far.setNoDelay(true);
  return { near, far };
}

/** A port on loopback that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
