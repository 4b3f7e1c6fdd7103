import { createServer } from 'node:net';

/**
 * A TCP port on loopback that nothing listens on right now (for servers that cannot take port 0).
 *
 * @example
 * const port = await freePort(); // then: postgres -p ${port}
 * console.log(port > 0 && port < 65_536); // true
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
