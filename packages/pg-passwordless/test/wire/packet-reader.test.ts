// PacketReader at every packet boundary, as pg-protocol tests its parser: a packet split over 2..n
// chunks (down to one byte per chunk), several packets in one chunk, a chunk that ends mid-header,
// lengths refused (too long, below the minimum, negative), and the end of the stream mid-packet. The
// streams are real: a PassThrough delivers each write as one chunk (the tests check that it did), a TCP
// socket pair on loopback shows the same over a kernel socket.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { PacketLengthError, PacketReader, type TypedPacket } from '../../src/wire/packet-reader.ts';
import { bytes, FAIL_INSTEAD_OF_HANGING, hex, socketPair, text, turn } from './scripted-peer.ts';

// A login as a client sends it: SSLRequest, StartupMessage (untyped), then a PasswordMessage and a
// Query (typed). 8 + 18 + 9 + 14 bytes.
const SSL_REQUEST = hex('00 00 00 08  04 d2 16 2f');
const STARTUP = bytes(hex('00 00 00 12  00 03 00 00'), text('user\0app\0\0'));
const PASSWORD = bytes(hex('70  00 00 00 08'), text('tok\0'));
const QUERY = bytes(hex('51  00 00 00 0d'), text('SELECT 1\0'));
const LOGIN = bytes(SSL_REQUEST, STARTUP, PASSWORD, QUERY);

type Read = (reader: PacketReader) => Promise<Buffer | TypedPacket>;
const untyped: Read = (reader) => reader.readUntyped(10_000);
const typed: Read = (reader) => reader.readTyped(10_000);
const LOGIN_READS = [untyped, untyped, typed, typed];
const LOGIN_PACKETS = [
  SSL_REQUEST,
  STARTUP,
  { type: 'p', body: text('tok\0') },
  { type: 'Q', body: text('SELECT 1\0') },
];

/** A PassThrough that records the size of every chunk it delivers. */
function chunkedStream(): { stream: PassThrough; delivered: number[] } {
  const stream = new PassThrough();
  const delivered: number[] = [];
  stream.on('data', (chunk: Buffer) => delivered.push(chunk.length));
  return { stream, delivered };
}

/**
 * Runs `reads` in order on a reader while `chunks` are written one at a time, each delivered before the
 * next is written; returns what the reads gave and the chunk sizes the reader saw.
 */
async function readFromChunks(chunks: Buffer[], reads: Read[]) {
  const { stream, delivered } = chunkedStream();
  const reader = new PacketReader(stream);
  const results = (async () => {
    const packets: Array<Buffer | TypedPacket> = [];
    for (const read of reads) packets.push(await read(reader));
    return packets;
  })();
  for (const chunk of chunks) {
    stream.write(chunk);
    await turn();
  }
  return { packets: await results, delivered, buffered: reader.buffered };
}

/** `data` cut at the given offsets. */
function cutAt(data: Buffer, offsets: number[]): Buffer[] {
  const bounds = [0, ...offsets, data.length];
  return bounds.slice(1).map((end, index) => data.subarray(bounds[index], end));
}

/** Whether a promise has settled yet, without waiting for it. */
function watch(promise: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

/** The PacketLengthError a read rejects with, as [message, length]. */
async function lengthRefusal(read: Promise<unknown>): Promise<[string, number]> {
  const error = await read.then(
    () => assert.fail('the read succeeded'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof PacketLengthError, `not a PacketLengthError: ${error}`);
  assert.equal(error.name, 'PacketLengthError');
  return [error.message, error.length];
}

describe('PacketReader: packets split over chunks', FAIL_INSTEAD_OF_HANGING, () => {
  it('reads the whole login from one chunk holding every packet', async () => {
    const result = await readFromChunks([LOGIN], LOGIN_READS);
    assert.deepEqual(result.delivered, [49]);
    assert.deepEqual(result.packets, LOGIN_PACKETS);
    assert.equal(result.buffered, 0);
  });

  it('reads it one byte per chunk', async () => {
    const result = await readFromChunks(
      cutAt(
        LOGIN,
        [...Array(48).keys()].map((i) => i + 1),
      ),
      LOGIN_READS,
    );
    assert.deepEqual(result.delivered, Array(49).fill(1));
    assert.deepEqual(result.packets, LOGIN_PACKETS);
  });

  it('reads it cut in two at every offset', async () => {
    for (let offset = 1; offset < LOGIN.length; offset++) {
      const result = await readFromChunks(cutAt(LOGIN, [offset]), LOGIN_READS);
      assert.deepEqual(result.delivered, [offset, LOGIN.length - offset], `cut at ${offset}`);
      assert.deepEqual(result.packets, LOGIN_PACKETS, `cut at ${offset}`);
    }
  });

  it('reads it cut in three at every pair of offsets', async () => {
    for (let first = 1; first < LOGIN.length - 1; first++) {
      for (let second = first + 1; second < LOGIN.length; second++) {
        const result = await readFromChunks(cutAt(LOGIN, [first, second]), LOGIN_READS);
        assert.equal(result.delivered.length, 3);
        assert.deepEqual(result.packets, LOGIN_PACKETS, `cut at ${first} and ${second}`);
      }
    }
  });

  it('waits for the last byte of a packet, and for the last byte of a header', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    const reading = reader.readTyped(100);
    const state = watch(reading);
    // The type byte alone, then the length word over three chunks (two of them end mid-header).
    for (const chunk of cutAt(QUERY, [1, 3, 4, 5, 9])) {
      assert.equal(state.settled, false, `settled before ${chunk.toString('hex')}`);
      stream.write(chunk);
      await turn();
    }
    assert.deepEqual(await reading, { type: 'Q', body: text('SELECT 1\0') });
  });

  it('gives packets already buffered at once, and keeps the bytes after them', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    // One chunk: SSLRequest, then the first 5 bytes of the StartupMessage.
    stream.write(bytes(SSL_REQUEST, STARTUP.subarray(0, 5)));
    await turn();
    assert.equal(reader.buffered, 13);
    assert.deepEqual(await reader.readUntyped(100), SSL_REQUEST);
    assert.equal(reader.buffered, 5);
    const startup = reader.readUntyped(100);
    stream.write(STARTUP.subarray(5));
    assert.deepEqual(await startup, STARTUP);
    assert.equal(reader.buffered, 0);
  });

  it('gives each packet a copy of its own, not a view of the chunk it came in', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    const chunk = bytes(PASSWORD, QUERY);
    stream.write(chunk);
    const password = await reader.readTyped(100);
    const query = await reader.readTyped(100);
    chunk.fill(0);
    assert.deepEqual(
      [password, query],
      [
        { type: 'p', body: text('tok\0') },
        { type: 'Q', body: text('SELECT 1\0') },
      ],
    );
  });
});

describe('PacketReader: lengths', FAIL_INSTEAD_OF_HANGING, () => {
  it('takes an untyped packet of exactly 8 bytes and exactly maxLength bytes', async () => {
    const longest = bytes(hex('00 00 00 10  00 03 00 00'), text('user\0a\0\0'));
    const result = await readFromChunks(
      [bytes(SSL_REQUEST, longest)],
      [(reader) => reader.readUntyped(16), (reader) => reader.readUntyped(16)],
    );
    assert.deepEqual(result.packets, [SSL_REQUEST, longest]);
  });

  it('refuses an untyped length below 8, above maxLength, or negative, once the 4 length bytes are in', async () => {
    const cases: Array<[string, string, number]> = [
      ['00 00 00 07', 'invalid length of startup packet (7)', 7],
      ['00 00 00 00', 'invalid length of startup packet (0)', 0],
      ['00 00 00 11', 'invalid length of startup packet (17)', 17],
      ['7f ff ff ff', 'invalid length of startup packet (2147483647)', 2147483647],
      ['ff ff ff ff', 'invalid length of startup packet (-1)', -1],
      ['80 00 00 00', 'invalid length of startup packet (-2147483648)', -2147483648],
    ];
    for (const [lengthWord, message, length] of cases) {
      const { stream } = chunkedStream();
      const reader = new PacketReader(stream);
      const reading = reader.readUntyped(16);
      const state = watch(reading);
      // Split mid-word: nothing is decided on 3 of the 4 bytes.
      stream.write(hex(lengthWord).subarray(0, 3));
      await turn();
      assert.equal(state.settled, false, lengthWord);
      stream.write(hex(lengthWord).subarray(3));
      assert.deepEqual(await lengthRefusal(reading), [message, length]);
    }
  });

  it('takes a typed length of exactly 4 (an empty body) and exactly maxLength', async () => {
    const result = await readFromChunks(
      [bytes(hex('58  00 00 00 04'), PASSWORD)],
      [(reader) => reader.readTyped(8), (reader) => reader.readTyped(8)],
    );
    assert.deepEqual(result.packets, [
      { type: 'X', body: Buffer.alloc(0) },
      { type: 'p', body: text('tok\0') },
    ]);
  });

  it('refuses a typed length below 4, above maxLength, or negative, without waiting for the body', async () => {
    const cases: Array<[string, string, number]> = [
      ['70  00 00 00 03', 'invalid message length (3)', 3],
      ['70  00 00 00 00', 'invalid message length (0)', 0],
      ['70  00 00 00 09', 'invalid message length (9)', 9],
      ['70  7f ff ff ff', 'invalid message length (2147483647)', 2147483647],
      ['70  ff ff ff fc', 'invalid message length (-4)', -4],
    ];
    for (const [header, message, length] of cases) {
      const { stream } = chunkedStream();
      const reader = new PacketReader(stream);
      stream.write(hex(header));
      assert.deepEqual(await lengthRefusal(reader.readTyped(8)), [message, length]);
    }
  });
});

describe('PacketReader: the end of the stream', FAIL_INSTEAD_OF_HANGING, () => {
  for (const [name, close] of [
    ['end', (stream: PassThrough) => stream.end()],
    ['destroy', (stream: PassThrough) => stream.destroy()],
  ] as const) {
    it(`${name} mid-header, mid-packet, or before any byte rejects the read`, async () => {
      for (const sent of [
        Buffer.alloc(0),
        QUERY.subarray(0, 3),
        QUERY.subarray(0, 5),
        QUERY.subarray(0, 13),
      ]) {
        const { stream } = chunkedStream();
        const reader = new PacketReader(stream);
        const reading = reader.readTyped(100);
        stream.write(sent);
        await turn();
        close(stream);
        await assert.rejects(
          reading,
          { message: 'the peer closed the connection' },
          `after ${sent.length} bytes`,
        );
      }
    });
  }

  it('still gives the whole packets that came before the end, then rejects', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    stream.end(bytes(SSL_REQUEST, STARTUP.subarray(0, 10)));
    await turn();
    assert.deepEqual(await reader.readUntyped(100), SSL_REQUEST);
    await assert.rejects(reader.readUntyped(100), { message: 'the peer closed the connection' });
  });
});

describe('PacketReader: maxBufferedBytes', FAIL_INSTEAD_OF_HANGING, () => {
  it('holds up to the limit; what is taken no longer counts', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream, { maxBufferedBytes: 16 });
    stream.write(SSL_REQUEST);
    stream.write(SSL_REQUEST);
    await turn();
    assert.equal(reader.buffered, 16);
    assert.deepEqual(await reader.readUntyped(100), SSL_REQUEST);
    assert.deepEqual(await reader.readUntyped(100), SSL_REQUEST);
    stream.write(bytes(SSL_REQUEST, SSL_REQUEST));
    await turn();
    assert.equal(stream.destroyed, false);
    assert.equal(reader.buffered, 16);
  });

  it('destroys the stream one byte past the limit, drops what it held, and rejects the read', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream, { maxBufferedBytes: 16 });
    const reading = reader.readUntyped(100);
    // A StartupMessage that claims 100 bytes, sent ahead: 8 + 9 bytes.
    stream.write(hex('00 00 00 64  00 03 00 00'));
    stream.write(Buffer.alloc(9, 0x61));
    await assert.rejects(reading, { message: 'more than 16 bytes sent ahead of the protocol' });
    assert.equal(stream.destroyed, true);
    assert.equal(reader.buffered, 0);
  });
});

describe('PacketReader: detach and attach', FAIL_INSTEAD_OF_HANGING, () => {
  it('detach gives back exactly what is not consumed, and pauses the stream so later bytes wait in it', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    stream.write(bytes(PASSWORD, QUERY.subarray(0, 7)));
    assert.deepEqual(await reader.readTyped(100), { type: 'p', body: text('tok\0') });
    assert.deepEqual(reader.detach(), QUERY.subarray(0, 7));
    assert.equal(reader.buffered, 0);
    assert.equal(stream.isPaused(), true);
    stream.write(QUERY.subarray(7));
    await turn();
    assert.deepEqual(stream.read(), QUERY.subarray(7));
  });

  it('detach({ pause: false }) leaves the stream flowing', async () => {
    const { stream } = chunkedStream();
    const reader = new PacketReader(stream);
    stream.write(SSL_REQUEST);
    await turn();
    assert.deepEqual(reader.detach({ pause: false }), SSL_REQUEST);
    assert.equal(stream.isPaused(), false);
  });

  it('attach moves the reader to another stream: the old one is no longer read', async () => {
    const first = chunkedStream().stream;
    const second = chunkedStream().stream;
    const reader = new PacketReader(first);
    first.write(SSL_REQUEST);
    assert.deepEqual(await reader.readUntyped(100), SSL_REQUEST);
    reader.attach(second);
    first.write(PASSWORD);
    second.write(QUERY);
    assert.deepEqual(await reader.readTyped(100), { type: 'Q', body: text('SELECT 1\0') });
    assert.equal(reader.buffered, 0);
    first.end();
    second.end();
  });
});

describe('PacketReader over a TCP socket pair on loopback', FAIL_INSTEAD_OF_HANGING, () => {
  let sockets: Socket[] = [];
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
  });

  /** Writes each chunk on `from` once the previous one has arrived on `to`, as its own read. */
  async function sendChunked(from: Socket, to: Socket, chunks: Buffer[]): Promise<number[]> {
    const arrived: number[] = [];
    let wake = () => {};
    to.on('data', (chunk: Buffer) => {
      arrived.push(chunk.length);
      wake();
    });
    for (const chunk of chunks) {
      const before = arrived.length;
      from.write(chunk);
      while (arrived.length === before) await new Promise<void>((resolve) => (wake = resolve));
    }
    return arrived;
  }

  it('reads a login sent one byte per segment', async () => {
    const { near, far } = await socketPair();
    sockets = [near, far];
    const reader = new PacketReader(far);
    const reads = (async () => {
      const packets: Array<Buffer | TypedPacket> = [];
      for (const read of LOGIN_READS) packets.push(await read(reader));
      return packets;
    })();
    const arrived = await sendChunked(
      near,
      far,
      cutAt(
        LOGIN,
        [...Array(48).keys()].map((i) => i + 1),
      ),
    );
    assert.deepEqual(arrived, Array(49).fill(1));
    assert.deepEqual(await reads, LOGIN_PACKETS);
  });

  it('reads a login sent in one write, and rejects a read the peer’s close cuts short', async () => {
    const { near, far } = await socketPair();
    sockets = [near, far];
    const reader = new PacketReader(far);
    near.end(bytes(LOGIN, QUERY.subarray(0, 6)));
    const packets: Array<Buffer | TypedPacket> = [];
    for (const read of LOGIN_READS) packets.push(await read(reader));
    assert.deepEqual(packets, LOGIN_PACKETS);
    await assert.rejects(reader.readTyped(100), { message: 'the peer closed the connection' });
  });
});
