import type { Duplex } from 'node:stream';

export interface PlaceLimits {
  /** Session places: a login past its startup packet holds one until its connection closes. */
  maxSessions: number;
  /** Places for connections that are not sessions: the oldest makes room for a newcomer. */
  maxPending: number;
}

/**
 * The proxy's places, modelled on PostgreSQL's. A session place is taken right after the startup
 * packet and held through the login and the session, as a backend holds its PGPROC entry from before
 * authentication (max_connections); a login that finds none free is refused with 53300. Every other
 * open connection is pending: accepted, its startup packet not yet complete, or refused and being
 * closed. Pending places are never refused: when they are full, the oldest pending connection is
 * closed without a word (as PostgreSQL closes a client that never speaks), so connections that send
 * nothing can crowd each other out but never a login.
 *
 * @example
 * const { PassThrough } = await import('node:stream');
 * const places = new ConnectionPlaces({ maxSessions: 1, maxPending: 2 });
 * const [first, second, third] = [new PassThrough(), new PassThrough(), new PassThrough()];
 * places.admit(first);
 * places.admit(second);
 * console.log(places.takeSession(second), places.takeSession(first)); // true false
 * places.admit(third);
 * places.admit(new PassThrough()); // the pending places are full: the oldest, first, makes room
 * console.log(first.destroyed, places.evicted, places.pending, places.sessions); // true 1 2 1
 */
export class ConnectionPlaces {
  readonly #limits: PlaceLimits;
  /** In the order they became pending: the first is the one to close when a place is needed. */
  readonly #pending = new Set<Duplex>();
  readonly #sessions = new Set<Duplex>();
  readonly #evicted = new WeakSet<Duplex>();
  /** Pending connections closed to make room for a newer one. */
  evicted = 0;

  constructor(limits: PlaceLimits) {
    this.#limits = limits;
  }

  /**
   * Makes a connection pending: one just accepted, or one whose login was refused after it took a
   * session place (the place goes back; the connection only waits for its ErrorResponse to be read).
   */
  admit(connection: Duplex): void {
    this.#sessions.delete(connection);
    if (connection.destroyed || this.#pending.has(connection)) return;
    for (const oldest of this.#pending) {
      if (this.#pending.size < this.#limits.maxPending) break;
      this.#pending.delete(oldest);
      this.#evicted.add(oldest);
      this.evicted++;
      oldest.destroy();
    }
    this.#pending.add(connection);
  }

  /**
   * Gives a connection whose startup packet is in a session place; false when all are taken. One
   * already closed is refused none, but takes none either: its release may have come already.
   */
  takeSession(connection: Duplex): boolean {
    if (this.#sessions.has(connection) || connection.destroyed) return true;
    if (this.#sessions.size >= this.#limits.maxSessions) return false;
    this.#pending.delete(connection);
    this.#sessions.add(connection);
    return true;
  }

  /** Frees whatever place a closed connection held. */
  release(connection: Duplex): void {
    this.#pending.delete(connection);
    this.#sessions.delete(connection);
  }

  /** Whether the connection was closed to make room (its end is no protocol error of its own). */
  wasEvicted(connection: Duplex): boolean {
    return this.#evicted.has(connection);
  }

  get pending(): number {
    return this.#pending.size;
  }

  get sessions(): number {
    return this.#sessions.size;
  }
}
