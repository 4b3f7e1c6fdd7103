// Queries queued before the connection is ready run once it is, in order, with their results.
const { Client } = require('pg');
const { settle, watch } = require('./observe.cjs');

async function main() {
  const client = watch('client', new Client());
  const connected = settle(
    'connect',
    client.connect(),
    (value) => `resolved ${value === client ? 'the client' : value}`,
  );
  const rows = (result) => `resolved ${JSON.stringify(result.rows)}`;
  const first = settle('first query', client.query('select 1 as n'), rows);
  const second = settle('second query', client.query('select $1::int + 1 as n', [1]), rows);
  const failing = settle('failing query', client.query('select 1/0'));
  const third = settle(
    'third query',
    client.query({ text: 'select $1::text as word', values: ['three'] }),
    rows,
  );
  await Promise.allSettled([connected, first, second, failing, third]);
  await settle('end', client.end());
}
main();
