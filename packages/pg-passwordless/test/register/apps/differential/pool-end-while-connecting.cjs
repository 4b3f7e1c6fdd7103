// pool.end() while the pool's first connection is being made: pg-pool lets the pending query finish
// on it, then closes it and ends.
const { Pool } = require('pg');
const { settle, watch } = require('./observe.cjs');

const pool = watch('pool', new Pool());
settle('query', pool.query('select 1 as n'), (result) => `resolved ${JSON.stringify(result.rows)}`);
settle('pool end', pool.end());
