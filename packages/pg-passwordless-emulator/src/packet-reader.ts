import type { Duplex } from 'node:stream';

export interface TypedPacket {
  type: string;
  body: Buffer;
}

/**
 * Collects bytes from a socket and hands out whole protocol packets on request. It can be moved to a
 * new socket (after the TLS upgrade) and it gives back whatever it holds beyond the last packet, so the
 * gateway can switch to plain piping without losing a byte.
 */
export class PacketReader {
  #buffer = Buffer.alloc(0);
  #socket: Duplex | undefined;
  #waiter: (() => void) | undefined;
  #ended: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended = new Error('the client closed the connection');
    this.#wake();
  };

  constructor(socket: Duplex) {
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
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }

  /** Bytes already received, not yet consumed (must be zero before a TLS upgrade). */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** The first packet: a length word, then the body (no type byte). */
  async readUntyped(maxLength: number): Promise<Buffer> {
    await this.#need(4);
    const length = this.#buffer.readInt32BE(0);
    if (length < 8 || length > maxLength) throw new Error(`invalid length of startup packet (${length})`);
    await this.#need(length);
    return this.#take(length);
  }

  /** A typed packet, refused when longer than `maxLength`. */
  async readTyped(maxLength: number): Promise<TypedPacket> {
    await this.#need(5);
    const length = this.#buffer.readInt32BE(1);
    if (length < 4 || length > maxLength) throw new Error(`invalid message length (${length})`);
    await this.#need(length + 1);
    const packet = this.#take(length + 1);
    return { type: packet.toString('latin1', 0, 1), body: packet.subarray(5) };
  }

  #take(count: number): Buffer {
    const packet = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return Buffer.from(packet);
  }

  async #need(count: number): Promise<void> {
    while (this.#buffer.length < count) {
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
