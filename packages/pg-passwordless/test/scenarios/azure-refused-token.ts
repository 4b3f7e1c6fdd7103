// A pool whose token the server stops accepting while it runs: the pool logs in, says READY, waits for
// the parent to revoke the token at the emulator (and send SIGUSR2), then opens a new connection, which
// must log in with a newly issued token. Prints one JSON line of facts, never a token.
// Env: the emulator's (workload identity or a service principal).
import { once } from 'node:events';
import { createPool } from '../../src/adapters/pg.ts';

const pool = await createPool(process.env.DATABASE_URL ?? '', { pool: { max: 2, idleTimeoutMillis: 1 } });
await pool.query('select 1');
// The idle connection goes, so the next query needs a new login.
await new Promise((resolve) => setTimeout(resolve, 50));
// A signal listener keeps nothing alive: this interval does, until the parent's signal.
const waiting = setInterval(() => undefined, 1000);
const signalled = once(process, 'SIGUSR2');
console.log('READY');
await signalled;
clearInterval(waiting);
const { rows } = await pool.query('select current_user as role');
const invalidations = pool.token?.stats().invalidations;
await pool.end();
console.log(JSON.stringify({ role: rows[0]?.role, invalidations }));
