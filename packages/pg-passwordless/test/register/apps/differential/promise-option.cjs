// The `Promise` option: every promise a client or a pool returns is of the configured class.
const pg = require('pg');
const { note, settle, watch } = require('./observe.cjs');

class TrackedPromise extends Promise {}
const kind = (promise) => (promise instanceof TrackedPromise ? 'TrackedPromise' : promise.constructor.name);

async function main() {
  const client = watch('client', new pg.Client({ Promise: TrackedPromise }));
  const connecting = client.connect();
  note(`client.connect() returns ${kind(connecting)}`);
  await settle('client connect', connecting);
  const querying = client.query('select 1 as n');
  note(`client.query() returns ${kind(querying)}`);
  await settle('client query', querying);
  const ending = client.end();
  note(`client.end() returns ${kind(ending)}`);
  await settle('client end', ending);

  const pool = watch('pool', new pg.Pool({ Promise: TrackedPromise }));
  const checkout = pool.connect();
  note(`pool.connect() returns ${kind(checkout)}`);
  const pooled = await settle('pool connect', checkout);
  const pooledQuery = pooled.query('select 2 as n');
  note(`pooled client.query() returns ${kind(pooledQuery)}`);
  await settle('pooled query', pooledQuery);
  pooled.release();
  await settle('pool end', pool.end());
}
main();
