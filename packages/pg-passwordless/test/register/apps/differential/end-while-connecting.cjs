// end() a moment after connect(), while the connection is still being made: pg cancels it (the connect
// callback is never called), fails the queued query, ends, and the process exits.
const { Client } = require('pg');
const { settle, watch } = require('./observe.cjs');

const client = watch('client', new Client());
settle('connect', client.connect());
settle('query', client.query('select 1 as n'));
setImmediate(() => settle('end', client.end()));
