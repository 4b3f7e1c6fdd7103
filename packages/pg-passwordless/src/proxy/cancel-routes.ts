/**
 * Which upstream address each session's cancel key belongs to. A CancelRequest carries the key of
 * BackendKeyData (process id and secret); the proxy sends it to the address that session reached, so
 * it lands on the right server even when the host name stands for several. Keys of no session of this
 * proxy are not forwarded at all.
 *
 * @example
 * const routes = new CancelRoutes();
 * const key = Buffer.from([0, 0, 0x30, 0x39, 1, 2, 3, 4]); // process 12345, secret 0x01020304
 * const forget = routes.add(key, { host: '10.0.0.7', port: 5432 });
 * const request = Buffer.concat([Buffer.from([0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e]), key]);
 * console.log(routes.find(request)); // { host: '10.0.0.7', port: 5432 }
 * forget();
 * console.log(routes.find(request)); // undefined
 */
export class CancelRoutes {
  readonly #routes = new Map<string, { host: string; port: number }>();

  /** Records a session's key; returns the function that forgets it when the session ends. */
  add(backendKey: Buffer, remote: { host: string; port: number }): () => void {
    const key = backendKey.toString('hex');
    this.#routes.set(key, remote);
    return () => {
      if (this.#routes.get(key) === remote) this.#routes.delete(key);
    };
  }

  /** The address for a CancelRequest packet (length, code, then the key), if it is one of ours. */
  find(cancelRequest: Buffer): { host: string; port: number } | undefined {
    return this.#routes.get(cancelRequest.subarray(8).toString('hex'));
  }

  get size(): number {
    return this.#routes.size;
  }
}
