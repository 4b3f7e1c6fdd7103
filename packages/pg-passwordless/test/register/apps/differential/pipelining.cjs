// pg's pipeline mode: queries queued before connect are all written at once when the connection is
// ready, and end() right after them waits for their results (pg ends gracefully once drained).
const { Client } = require('pg');
const { settle, watch } = require('./observe.cjs');

const client = watch('client', new Client({ pipeline: true }));
settle('connect', client.connect());
const rows = (result) => `resolved ${JSON.stringify(result.rows)}`;
settle('query 1', client.query('select 1 as n'), rows);
settle('query 2', client.query('select 1/0'), rows);
settle('query 3', client.query('select $1::int as n', [3]), rows);
settle('end', client.end());
