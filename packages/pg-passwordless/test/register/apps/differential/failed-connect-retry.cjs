// A connect that fails (FIRST_DATABASE names one the server does not have, or the token cannot be
// had), then the retries an app makes: connect()
// again on the same client (pg refuses to reuse it) and a new client (which connects).
const { Client } = require('pg');
const { settle, watch } = require('./observe.cjs');

async function main() {
  const failing = watch('failing client', new Client({ database: process.env.FIRST_DATABASE }));
  await settle('first connect', failing.connect()).catch(() => undefined);
  await settle('same client again', failing.connect()).catch(() => undefined);
  await settle('failing client end', failing.end());

  const retry = watch('new client', new Client());
  await settle('new client connect', retry.connect());
  await settle('query', retry.query('select 1 as n'), (result) => `resolved ${JSON.stringify(result.rows)}`);
  await settle('new client end', retry.end());
}
main();
