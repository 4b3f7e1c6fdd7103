// The proxy's places on their own, with plain streams for connections: who is closed to make room,
// who never is, and when a session place is free again. test/proxy/proxy.test.ts and
// test/cli/proxy.test.ts run them inside the proxy with real clients.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ConnectionPlaces } from '../../src/proxy/connection-places.ts';

const connections = (count: number) => Array.from({ length: count }, () => new PassThrough());

describe('ConnectionPlaces', () => {
  it('closes the oldest pending connection to make room, one for each newcomer', () => {
    const places = new ConnectionPlaces({ maxSessions: 10, maxPending: 3 });
    const [a, b, c, d, e] = connections(5) as [
      PassThrough,
      PassThrough,
      PassThrough,
      PassThrough,
      PassThrough,
    ];
    for (const connection of [a, b, c]) places.admit(connection);
    assert.equal(places.evicted, 0);
    places.admit(d);
    assert.deepEqual(
      [a, b, c, d].map((x) => x.destroyed),
      [true, false, false, false],
    );
    places.admit(e);
    assert.deepEqual(
      [b, c, d, e].map((x) => x.destroyed),
      [true, false, false, false],
    );
    assert.equal(places.evicted, 2);
    assert.equal(places.pending, 3);
    assert.ok(places.wasEvicted(a) && places.wasEvicted(b) && !places.wasEvicted(c));
  });

  it('never closes a connection that holds a session place, however many arrive', () => {
    const places = new ConnectionPlaces({ maxSessions: 2, maxPending: 2 });
    const [logging, silent] = connections(2) as [PassThrough, PassThrough];
    places.admit(logging);
    places.admit(silent);
    assert.equal(places.takeSession(logging), true);
    const newcomers = connections(50);
    for (const newcomer of newcomers) places.admit(newcomer);
    assert.equal(logging.destroyed, false);
    assert.equal(silent.destroyed, true);
    assert.equal(places.evicted, 49, 'the silent one, then each newcomer but the last two');
    assert.deepEqual([places.sessions, places.pending], [1, 2]);
  });

  it('refuses a session place when all are taken, and gives it again once one is released', () => {
    const places = new ConnectionPlaces({ maxSessions: 1, maxPending: 5 });
    const [first, second] = connections(2) as [PassThrough, PassThrough];
    places.admit(first);
    places.admit(second);
    assert.equal(places.takeSession(first), true);
    assert.equal(places.takeSession(first), true, 'asking again for the place it holds');
    assert.equal(places.takeSession(second), false);
    assert.equal(places.pending, 1, 'the refused one stays pending');
    places.release(first);
    assert.equal(places.takeSession(second), true);
    assert.deepEqual([places.sessions, places.pending], [1, 0]);
  });

  it('a refused login gives its session place back and waits as the newest pending connection', () => {
    const places = new ConnectionPlaces({ maxSessions: 1, maxPending: 2 });
    const [refused, older, newer] = connections(3) as [PassThrough, PassThrough, PassThrough];
    places.admit(refused);
    places.takeSession(refused);
    places.admit(older);
    places.admit(refused);
    assert.deepEqual([places.sessions, places.pending], [0, 2]);
    places.admit(newer);
    assert.deepEqual(
      [refused, older].map((x) => x.destroyed),
      [false, true],
      'the older one made room',
    );
    places.admit(refused);
    assert.equal(places.pending, 2, 'admitting a pending connection again changes nothing');
  });

  it('admits no connection that is already closed, and gives it no session place', () => {
    const places = new ConnectionPlaces({ maxSessions: 1, maxPending: 1 });
    const [open, closed] = connections(2) as [PassThrough, PassThrough];
    places.admit(open);
    closed.destroy();
    places.admit(closed);
    assert.equal(open.destroyed, false);
    assert.equal(places.pending, 1);
    assert.equal(places.takeSession(closed), true, 'a closed connection is refused nothing');
    assert.equal(places.sessions, 0, 'and holds no place that nothing would release');
  });
});
