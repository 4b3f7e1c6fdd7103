// connectionTimeoutMillis on a Client and on a Pool, when the connection is not ready in time: pg's
// own errors ("timeout expired"; the pool's "Connection terminated due to connection timeout").
const pg = require('pg');
const { settle, watch } = require('./observe.cjs');

async function main() {
  const client = watch('client', new pg.Client({ connectionTimeoutMillis: 200 }));
  await settle('client connect', client.connect()).catch(() => undefined);
  await settle('client end', client.end());

  const pool = watch('pool', new pg.Pool({ connectionTimeoutMillis: 200 }));
  await settle('pool query', pool.query('select 1 as n')).catch(() => undefined);
  await settle('pool end', pool.end());
}
main();
