import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { type Emulator, startEmulator } from '../src/index.ts';
import { startupMessage } from '../src/wire.ts';

/** Opens a raw TCP connection to the gateway. */
function rawSocket(emulator: Emulator): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(emulator.gateway.port, emulator.gateway.host, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves with everything the server sent once it closes the connection. */
function untilClosed(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  return new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
}

describe('gateway: protocol abuse leaves it serving others', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ backend: 'pglite' });
  });
  after(() => emulator?.stop());

  const stillServes = async () => {
    const { client, error } = await tryLogin(
      gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
    );
    assert.equal(error, undefined);
    await client?.end();
  };

  it('closes a malformed startup packet', async () => {
    const socket = await rawSocket(emulator);
    const closed = untilClosed(socket);
    socket.write(Buffer.from([0x00, 0x00, 0x00, 0x10, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]));
    await closed;
    await stillServes();
  });

  it('closes an absurd length word', async () => {
    const socket = await rawSocket(emulator);
    const closed = untilClosed(socket);
    socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await closed;
    await stillServes();
  });

  it('refuses a cleartext startup with the hostssl-only error', async () => {
    const socket = await rawSocket(emulator);
    const closed = untilClosed(socket);
    socket.write(startupMessage({ user: 'orders-api', database: 'postgres' }));
    const answer = await closed;
    assert.equal(answer.toString('latin1', 0, 1), 'E');
    assert.match(answer.toString('utf8'), /no encryption/);
  });

  it('declines GSS encryption with N and keeps reading the startup', async () => {
    const socket = await rawSocket(emulator);
    const gss = Buffer.alloc(8);
    gss.writeInt32BE(8, 0);
    gss.writeInt32BE(80877104, 4);
    const firstByte = new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1', 0, 1))),
    );
    socket.write(gss);
    assert.equal(await firstByte, 'N');
    const closed = untilClosed(socket);
    socket.write(startupMessage({ user: 'orders-api', database: 'postgres' }));
    assert.match((await closed).toString('utf8'), /no encryption/, 'then answers the startup packet');
  });

  it('survives clients that drop mid-handshake', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = await rawSocket(emulator);
      const ssl = Buffer.alloc(8);
      ssl.writeInt32BE(8, 0);
      ssl.writeInt32BE(80877103, 4);
      socket.write(ssl);
      socket.destroy();
    }
    await stillServes();
  });

  it('keeps serving during a flood of idle connections', async () => {
    const flood = await Promise.all(Array.from({ length: 300 }, () => rawSocket(emulator)));
    try {
      await stillServes();
    } finally {
      for (const socket of flood) socket.destroy();
    }
  });
});
