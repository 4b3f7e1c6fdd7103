// An app with two databases: the main one (DATABASE_URL, no password) and a local one with its own
// password (LOCAL_DATABASE_URL), used side by side in one process.
import pg from 'pg';

const main = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const local = new pg.Client({ connectionString: process.env.LOCAL_DATABASE_URL });
await local.connect();
const localRole = (await local.query('select current_user')).rows[0].current_user;
const mainRole = (await main.query('select current_user')).rows[0].current_user;
console.log(JSON.stringify({ main: mainRole, local: localRole }));
await local.end();
await main.end();
