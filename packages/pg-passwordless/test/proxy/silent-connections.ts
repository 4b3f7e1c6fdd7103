import { connect as netConnect, type Socket } from 'node:net';

export interface SilentConnections {
  /** Resolves once the first `count` connections are all connected (or failed to). */
  ready: Promise<void>;
  /** Resolves when the server first closes one of them. */
  firstClosedByServer: Promise<void>;
  stats(): { opened: number; open: number; closedByServer: number; failedToConnect: number };
  /** Closes them all; none is opened again. */
  stop(): void;
}

/** Connections opened at once while filling up: the listen backlog (511) is not overrun. */
const OPEN_BATCH = 100;

/**
 * Holds `count` TCP connections to a server that send nothing at all, and opens a new one at once for
 * each the server closes, until stopped: what any local user can do to a listener on loopback.
 * A connection that fails to connect is not retried (the server is gone: that must show, not spin).
 */
export function holdSilentConnections(
  address: { host: string; port: number },
  count: number,
): SilentConnections {
  const open = new Set<Socket>();
  const counts = { opened: 0, closedByServer: 0, failedToConnect: 0 };
  let stopped = false;
  let onFirstClose: () => void = () => {};
  const firstClosedByServer = new Promise<void>((resolve) => {
    onFirstClose = resolve;
  });

  const openOne = (): Promise<void> =>
    new Promise((settled) => {
      const socket = netConnect(address);
      let connected = false;
      counts.opened++;
      open.add(socket);
      socket.on('error', () => {});
      socket.once('connect', () => {
        connected = true;
        settled();
      });
      socket.once('close', () => {
        open.delete(socket);
        if (stopped) return;
        if (!connected) {
          counts.failedToConnect++;
          settled();
          return;
        }
        counts.closedByServer++;
        onFirstClose();
        void openOne();
      });
    });

  const ready = (async () => {
    for (let opened = 0; opened < count && !stopped; opened += OPEN_BATCH) {
      const batch = Math.min(OPEN_BATCH, count - opened);
      await Promise.all(Array.from({ length: batch }, openOne));
    }
  })();

  return {
    ready,
    firstClosedByServer,
    stats: () => ({ ...counts, open: open.size }),
    stop() {
      stopped = true;
      for (const socket of open) socket.destroy();
    },
  };
}
