// connectionScope (the sockets of one client connection close together) and endThenDestroy (a last
// message, then the socket is gone, whether or not the peer reads it), on PassThrough streams and on a
// TCP socket pair on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type Duplex, PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { connectionScope, endThenDestroy } from '../../src/wire/connection-scope.ts';
import { bytes, FAIL_INSTEAD_OF_HANGING, hex, ScriptedPeer, socketPair, text } from './scripted-peer.ts';

describe('connectionScope', FAIL_INSTEAD_OF_HANGING, () => {
  it('destroys every socket it owns on closeAll, and says it is closed', () => {
    const scope = connectionScope();
    const [tcp, tls, backend] = [new PassThrough(), new PassThrough(), new PassThrough()];
    for (const socket of [tcp, tls, backend]) scope.own(socket);
    assert.equal(scope.closed, false);
    scope.closeAll();
    assert.equal(scope.closed, true);
    assert.deepEqual([tcp.destroyed, tls.destroyed, backend.destroyed], [true, true, true]);
  });

  it('destroys a socket owned after closeAll at once (a backend connected too late)', () => {
    const scope = connectionScope();
    scope.closeAll();
    const late = new PassThrough();
    scope.own(late);
    assert.equal(late.destroyed, true);
  });

  it('shows every socket to track, in order', () => {
    const seen: Duplex[] = [];
    const scope = connectionScope((socket) => seen.push(socket));
    const [first, second] = [new PassThrough(), new PassThrough()];
    scope.own(first);
    scope.own(second);
    assert.deepEqual(seen, [first, second]);
    scope.closeAll();
  });

  it('destroys a socket that errs, and only that one: its close is for the owner to act on', async () => {
    const scope = connectionScope();
    const [failing, other] = [new PassThrough(), new PassThrough()];
    scope.own(failing);
    scope.own(other);
    failing.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await once(failing, 'close');
    assert.deepEqual([failing.destroyed, other.destroyed, scope.closed], [true, false, false]);
    scope.closeAll();
    assert.equal(other.destroyed, true);
  });
});

describe('endThenDestroy', FAIL_INSTEAD_OF_HANGING, () => {
  const REFUSAL = bytes(hex('45  00 00 00 27'), text('SFATAL\0VFATAL\0C28000\0Mnot welcome\0\0'));

  // The peer keeps its side open: end() alone would leave the socket half-open, waiting for it.
  it('sends the last message, ends, and destroys the socket, while the peer keeps its side open', async () => {
    const { near, far } = await socketPair({ allowHalfOpen: true });
    const peer = new ScriptedPeer(far);
    endThenDestroy(near, REFUSAL);
    await once(near, 'close');
    assert.equal(far.writableEnded, false);
    assert.deepEqual(await peer.read(REFUSAL.length), REFUSAL);
    far.destroy();
  });

  it('ends without a message when given none', async () => {
    const { near, far } = await socketPair();
    const peer = new ScriptedPeer(far);
    endThenDestroy(near);
    assert.deepEqual(await peer.readToEnd(), Buffer.alloc(0));
    if (!near.closed) await once(near, 'close');
    assert.equal(near.destroyed, true);
  });

  // Without the grace period the socket would stay open for ever: the suite's timeout fails that.
  it('destroys the socket after the grace period when the peer does not read', async () => {
    const { near, far } = await socketPair();
    far.pause();
    // More than the kernel's socket buffers hold on both sides: the write cannot finish.
    endThenDestroy(near, Buffer.alloc(64 * 1024 * 1024));
    assert.equal(near.destroyed, false);
    await once(near, 'close');
    assert.equal(near.destroyed, true);
    far.destroy();
  });
});
