import type { Duplex } from 'node:stream';

/**
 * The sockets of one client connection (TCP, TLS on it, the server session behind it). They close
 * together, and none outlives a refusal, the handshake deadline, or its peer.
 *
 * @example
 * const { PassThrough } = await import('node:stream');
 * const scope = connectionScope();
 * const client = new PassThrough();
 * const server = new PassThrough();
 * scope.own(client);
 * scope.own(server);
 * scope.closeAll();
 * console.log(client.destroyed, server.destroyed, scope.closed); // true true true
 */
export interface ConnectionScope {
  /** Tracks a socket: destroyed with the rest of the connection (at once if that already happened). */
  own(socket: Duplex): void;
  closeAll(): void;
  readonly closed: boolean;
}

/** `track` sees every socket owned, e.g. so a listener can destroy all of them when it closes. */
export function connectionScope(track: (socket: Duplex) => void = () => {}): ConnectionScope {
  const owned = new Set<Duplex>();
  let closed = false;
  return {
    own(socket) {
      track(socket);
      owned.add(socket);
      // A socket error ends the whole connection; the listener keeps serving the others.
      socket.on('error', () => socket.destroy());
      socket.once('close', () => owned.delete(socket));
      if (closed) socket.destroy();
    },
    closeAll() {
      closed = true;
      for (const socket of owned) socket.destroy();
    },
    get closed() {
      return closed;
    },
  };
}

/** How long a refused peer gets to take its last message before its socket is destroyed anyway. */
const LAST_MESSAGE_FLUSH_MS = 1_000;

/**
 * Ends a socket after a last message, then destroys it. end() alone sends FIN but leaves the socket
 * half-open until the peer closes its side, and a peer that never does would hold a connection slot
 * for ever: destroy once the message is flushed, or after a grace period when the peer does not read.
 *
 * @example
 * const { PassThrough } = await import('node:stream');
 * const socket = new PassThrough();
 * socket.resume();
 * endThenDestroy(socket, Buffer.from('bye'));
 * await new Promise((resolve) => socket.once('close', resolve));
 * console.log(socket.destroyed); // true
 */
export function endThenDestroy(socket: Duplex, last?: Buffer): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LAST_MESSAGE_FLUSH_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(last, () => socket.destroy());
}
