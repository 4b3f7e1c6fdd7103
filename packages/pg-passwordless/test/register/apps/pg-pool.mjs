// An app that knows nothing of tokens: plain pg, the URL from the environment, no password in code.
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const { rows } = await pool.query('select current_user');
console.log(JSON.stringify({ role: rows[0].current_user }));
await pool.end();
