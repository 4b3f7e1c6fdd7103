/** The socket (or any stream) under a pg Connection, as far as the wait before it opens touches it. */
interface StreamLike {
  destroyed?: boolean;
  destroy(error?: Error): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * The part of pg's `Connection` (pg/lib/connection.js, `pg.Connection`) the wait touches. The same in
 * pg 8.7.3 and every later 8.x: `connect(port, host)` opens the socket, `end()` says goodbye on it,
 * `_connecting` tells `Client#end()` whether there is a connection to end, `_ending` that it is closing.
 */
export interface PgConnectionLike {
  connect(...args: unknown[]): unknown;
  end(): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  stream: StreamLike;
  _connecting?: boolean;
  _ending?: boolean;
}

/**
 * Makes `connection.connect(port, host)` wait for `before` and only then open the socket, with
 * everything else left to pg's Client, exactly as it runs without the wait: its `connect()` (and the
 * promise type it was given), its `connectionTimeoutMillis` timer (started before the wait, so the
 * wait counts), its query queue, `end()`, and its 'error' and 'end' events.
 *
 * pg's Client sees the wait as a socket that has not connected yet, and everything that happens to
 * such a socket happens to the idle stream instead, so pg reacts as it would: `end()` destroys it (pg
 * leaves the connect callback uncalled, fails queued queries with "Connection terminated", emits
 * 'end'); a connect timeout destroys it with "timeout expired" and a pool's timeout without an error,
 * and pg reports those as it reports them for a socket; a failed `before` destroys it with that error,
 * as a refused TCP connection would. A destroyed stream is never connected afterwards.
 *
 * @example
 * const pg = (await import('pg')).default;
 * const client = new pg.Client(process.env.DATABASE_URL);
 * let waited = false;
 * deferSocketOpen(client.connection as unknown as PgConnectionLike, async () => {
 *   waited = true; // a token would be fetched here, before the socket opens
 * });
 * client.connect().then(() => console.log('not printed: pg leaves connect() pending when end() comes first'));
 * await client.end(); // during the wait: no socket is ever opened, and the process can exit
 * console.log(waited); // true
 */
export function deferSocketOpen(connection: PgConnectionLike, before: () => Promise<void>): void {
  const open = connection.connect;
  const end = connection.end;
  connection.connect = (...args: unknown[]) => {
    // What pg's own connect() sets first: Client#end() now ends this connection instead of doing nothing.
    connection._connecting = true;
    const { stream } = connection;
    // The listeners pg attaches to a socket it opens (Connection#connect): 'error' is passed on, and
    // 'close' becomes the connection's 'end'. pg attaches its own once the socket opens. A stream with
    // no socket closes in the same tick as its error, an open socket only once its handle is closed, a
    // turn of the event loop later: the wait keeps that order, so pg's callbacks and events come in
    // the order an app sees without it.
    const onError = (error: Error) => connection.emit('error', error);
    const onClose = () => setImmediate(() => connection.emit('end'));
    stream.on('error', onError);
    stream.on('close', onClose);
    // Nothing to say goodbye on yet (pg writes Terminate, then ends the socket): destroying the idle
    // stream ends the connection the same way for the Client.
    connection.end = () => {
      connection._ending = true;
      stream.destroy();
    };
    const cancelled = () => Boolean(stream.destroyed || connection._ending);
    before().then(
      () => {
        connection.end = end;
        if (cancelled()) return;
        stream.removeListener('error', onError);
        stream.removeListener('close', onClose);
        open.apply(connection, args);
      },
      (error: Error) => {
        connection.end = end;
        if (!cancelled()) stream.destroy(error);
      },
    );
  };
}
