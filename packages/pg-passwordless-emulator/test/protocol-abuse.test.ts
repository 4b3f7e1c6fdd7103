import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type PacketLengthError, PacketReader, startupMessage } from 'pg-passwordless/wire';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { type Emulator, startEmulator } from '../src/index.ts';
import {
  errorFields,
  mapLimit,
  Peer,
  parseBackendMessages,
  startupPacket,
  typedWithLength,
  untilPasswordRequested,
} from './helpers/wire-fuzz.ts';

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

  const hasError = (bytes: Buffer) => parseBackendMessages(bytes).messages.some((m) => m.type === 'E');

  it('answers an oversized password with an ErrorResponse, then closes', async () => {
    const peer = await Peer.open(emulator.gateway.host, emulator.gateway.port);
    try {
      const login = { user: 'orders-api', database: 'postgres', handshakeTimeoutMs: 5_000 };
      assert.equal(await untilPasswordRequested(peer, login), 'password');
      const password = Buffer.alloc(20_000, 'A'); // over the 16 KB limit
      peer.write(typedWithLength('p', 4 + password.length + 1, Buffer.concat([password, Buffer.from([0])])));
      assert.ok(await peer.closedWithin(5_000), 'the gateway closes the connection');
      const error = parseBackendMessages(peer.received()).messages.find((message) => message.type === 'E');
      assert.ok(error, 'an ErrorResponse came before the close');
      const fields = errorFields(error.body);
      assert.equal(fields.S, 'FATAL');
      assert.equal(fields.C, '08P01');
      assert.match(fields.M ?? '', /^password packet too long/);
      assert.ok(await peer.resetWithin(2_000), 'and lets go of it (not half-open)');
    } finally {
      peer.destroy();
    }
    await stillServes();
  });

  it('closes 1000 refused logins held half-open at once, so a valid login still gets in', async () => {
    const { host, port } = emulator.gateway;
    const before = emulator.counters().gateway;
    const held: Peer[] = [];
    try {
      // Clients that connect and say nothing: the handshake timeout (15 s) is theirs to run into.
      const stallers = 100;
      await mapLimit(Array.from({ length: stallers }), 50, async () => {
        held.push(await Peer.open(host, port));
      });
      // Refused logins whose clients never close their side: a bad password over TLS, or a plaintext
      // startup (refused: TLS required). Together with the stallers, as many as the gateway admits.
      const refused: Peer[] = [];
      await mapLimit(Array.from({ length: 1_000 - stallers }), 50, async (_, index) => {
        const peer = await Peer.open(host, port);
        held.push(peer);
        refused.push(peer);
        if (index % 3 === 0) {
          peer.write(startupPacket('orders-api', 'postgres'));
        } else {
          const login = { user: 'orders-api', database: 'postgres', handshakeTimeoutMs: 10_000 };
          assert.equal(await untilPasswordRequested(peer, login), 'password');
          peer.write(typedWithLength('p', 4 + 12, Buffer.from('not-a-token\0')));
        }
        await peer.waitFor(hasError, 10_000);
      });

      const started = performance.now();
      await stillServes();
      const loginMs = performance.now() - started;
      assert.ok(loginMs < 5_000, `a valid login took ${Math.round(loginMs)} ms`);

      const answered = refused.filter((peer) => hasError(peer.received())).length;
      assert.equal(answered, refused.length, 'every refused login got its ErrorResponse');
      const closed = refused.filter((peer) => peer.closed).length;
      assert.equal(closed, refused.length, 'the gateway closed every refused login');
      // The gateway holds nothing of them: only the stallers are still open on its side.
      for (let i = 0; i < 100 && emulator.counters().gateway.active > stallers; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const after = emulator.counters().gateway;
      assert.equal(after.active, stallers, JSON.stringify(after));
      assert.equal(after.loginsRejected - before.loginsRejected, refused.length, 'refusals are counted');
    } finally {
      for (const peer of held) peer.destroy();
    }
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

describe('packet reader: a peer cannot make it buffer without bound', () => {
  it('reads a startup packet sent a byte at a time, and keeps what follows', async () => {
    const socket = new PassThrough();
    const reader = new PacketReader(socket, { maxBufferedBytes: 20_000 });
    const packet = startupMessage({ user: 'orders-api', database: 'x'.repeat(9_000) });
    for (const byte of packet) socket.write(Buffer.from([byte]));
    socket.write(Buffer.from('p'));
    assert.deepEqual(await reader.readUntyped(10_000), packet);
    assert.equal(reader.detach().toString(), 'p');
  });

  it('joins a typed message whose header is split across chunks', async () => {
    const socket = new PassThrough();
    const reader = new PacketReader(socket);
    const message = Buffer.from([0x70, 0, 0, 0, 7, 0x61, 0x62, 0]); // 'p', length 7, "ab\0"
    socket.write(message.subarray(0, 2));
    socket.write(message.subarray(2, 6));
    socket.write(message.subarray(6));
    const { type, body } = await reader.readTyped(100);
    assert.equal(type, 'p');
    assert.equal(body.toString('latin1'), 'ab\0');
  });

  it('refuses a length word out of range before waiting for the body', async () => {
    const socket = new PassThrough();
    const reader = new PacketReader(socket);
    socket.write(Buffer.from([0x70, 0xff, 0xff, 0xff, 0xff])); // length -1
    await assert.rejects(reader.readTyped(100), (error: PacketLengthError) => error.length === -1);
  });

  it('destroys the socket when more than the cap arrives ahead of the protocol', async () => {
    const socket = new PassThrough();
    const reader = new PacketReader(socket, { maxBufferedBytes: 1_000 });
    const pending = reader.readUntyped(10_000);
    const header = Buffer.alloc(4);
    header.writeInt32BE(9_000, 0); // a legal length, whose body would overrun the cap
    socket.write(header);
    socket.write(Buffer.alloc(2_000));
    await assert.rejects(pending, /more than 1000 bytes/);
    assert.ok(socket.destroyed);
  });
});
