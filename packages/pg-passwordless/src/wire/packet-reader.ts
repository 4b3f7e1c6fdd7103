import type { Duplex } from 'node:stream';

export interface TypedPacket {
  type: string;
  body: Buffer;
}

/**
 * A length word the caller does not accept (too short, too long, or negative).
 *
 * @example
 * const { PassThrough } = await import('node:stream');
 * const socket = new PassThrough();
 * const reader = new PacketReader(socket);
 * socket.write(Buffer.from([0x70, 0x7f, 0xff, 0xff, 0xff])); // 'p' claiming 2 GB
 * await reader.readTyped(16_388).catch((error) => {
 *   if (error instanceof PacketLengthError) console.log(error.length); // 2147483647
 * });
 */
export class PacketLengthError extends Error {
  constructor(
    message: string,
    readonly length: number,
  ) {
    super(message);
    this.name = 'PacketLengthError';
  }
}

export interface PacketReaderOptions {
  /**
   * Most bytes held at once; beyond it the socket is destroyed. A peer may send ahead of what is read
   * (pipelining is legal), but not without bound: during a login that would be memory for the taking.
   */
  maxBufferedBytes?: number;
}

/**
 * Collects bytes from a socket and hands out whole protocol packets on request. It can be moved to a
 * new socket (after the TLS upgrade) and it gives back whatever it holds beyond the last packet, so the
 * gateway can switch to plain piping without losing a byte.
 *
 * Chunks are kept in a list with a running length and joined only when a packet is taken, so a peer
 * that sends a packet a byte at a time costs linear time, not quadratic.
 *
 * @example
 * const { PassThrough } = await import('node:stream');
 * const socket = new PassThrough();
 * const reader = new PacketReader(socket, { maxBufferedBytes: 1024 });
 * socket.write(Buffer.from([0x70, 0, 0, 0, 7])); // 'p', length 7 (itself + 3 bytes)
 * socket.write(Buffer.from('ab\0'));
 * const packet = await reader.readTyped(100);
 * console.log(packet.type, packet.body); // p <Buffer 61 62 00>
 */
export class PacketReader {
  #chunks: Buffer[] = [];
  #length = 0;
  readonly #maxBufferedBytes: number;
  #socket: Duplex | undefined;
  #waiter: (() => void) | undefined;
  #ended: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    if (this.#length + chunk.length > this.#maxBufferedBytes) {
      this.#ended = new Error(`more than ${this.#maxBufferedBytes} bytes sent ahead of the protocol`);
      this.#chunks = [];
      this.#length = 0;
      // Without an error argument: a backend socket may have no 'error' listener at this point.
      this.#socket?.destroy();
      this.#wake();
      return;
    }
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended ??= new Error('the peer closed the connection');
    this.#wake();
  };

  constructor(socket: Duplex, options: PacketReaderOptions = {}) {
    this.#maxBufferedBytes = options.maxBufferedBytes ?? Number.POSITIVE_INFINITY;
    this.attach(socket);
  }

  attach(socket: Duplex): void {
    this.detach();
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  /**
   * Stops reading; returns bytes received but not consumed. The socket is paused so no byte is lost
   * before it is piped, except before a TLS upgrade, where the TLS layer takes the socket over.
   */
  detach(options: { pause?: boolean } = {}): Buffer {
    const socket = this.#socket;
    if (socket) {
      socket.off('data', this.#onData);
      socket.off('end', this.#onEnd);
      socket.off('close', this.#onEnd);
      if (options.pause !== false) socket.pause();
    }
    this.#socket = undefined;
    const rest = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [];
    this.#length = 0;
    return rest;
  }

  /** Bytes already received, not yet consumed (must be zero before a TLS upgrade). */
  get buffered(): number {
    return this.#length;
  }

  /** The first packet: a length word, then the body (no type byte). */
  async readUntyped(maxLength: number): Promise<Buffer> {
    await this.#need(4);
    const length = this.#peek(4).readInt32BE(0);
    if (length < 8 || length > maxLength)
      throw new PacketLengthError(`invalid length of startup packet (${length})`, length);
    await this.#need(length);
    return this.#take(length);
  }

  /** A typed packet: a type byte, then a length word that counts itself; refused when longer than `maxLength`. */
  async readTyped(maxLength: number): Promise<TypedPacket> {
    await this.#need(5);
    const length = this.#peek(5).readInt32BE(1);
    if (length < 4 || length > maxLength)
      throw new PacketLengthError(`invalid message length (${length})`, length);
    await this.#need(length + 1);
    const packet = this.#take(length + 1);
    return { type: packet.toString('latin1', 0, 1), body: packet.subarray(5) };
  }

  /** The first `count` bytes, left in place (joins the leading chunks into one when they are split). */
  #peek(count: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= count) return first;
    const whole = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [whole];
    return whole;
  }

  /** Removes the first `count` bytes and returns them as a copy of their own. */
  #take(count: number): Buffer {
    const parts: Buffer[] = [];
    let remaining = count;
    let used = 0;
    while (remaining > 0) {
      const chunk = this.#chunks[used] as Buffer;
      if (chunk.length <= remaining) {
        parts.push(chunk);
        remaining -= chunk.length;
        used++;
      } else {
        parts.push(chunk.subarray(0, remaining));
        this.#chunks[used] = chunk.subarray(remaining);
        remaining = 0;
      }
    }
    this.#chunks.splice(0, used);
    this.#length -= count;
    // concat copies even a single part, so the packet does not pin a large chunk in memory.
    return Buffer.concat(parts, count);
  }

  async #need(count: number): Promise<void> {
    while (this.#length < count) {
      if (this.#ended) throw this.#ended;
      this.#socket?.resume();
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
