// pg's quick-disconnect case: connect() and end() at once, with a query queued in between. pg leaves
// the connect callback uncalled, fails the query, ends, and the process exits.
const { Client } = require('pg');
const { settle, watch } = require('./observe.cjs');

const client = watch('client', new Client());
settle(
  'connect callback',
  new Promise((resolve, reject) => client.connect((error) => (error ? reject(error) : resolve()))),
);
settle('query', client.query('select 1 as n'));
settle('end', client.end());
