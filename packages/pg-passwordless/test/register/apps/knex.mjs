// A knex app, as its docs write it.
import knex from 'knex';

const db = knex({ client: 'pg', connection: process.env.DATABASE_URL });
const { rows } = await db.raw('select current_user');
console.log(JSON.stringify({ role: rows[0].current_user }));
await db.destroy();
