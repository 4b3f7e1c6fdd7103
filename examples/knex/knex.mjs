// knex with a token as the password of every new connection. Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach)"
//   node knex.mjs && npx pg-passwordless-emulator stop
import knex from 'knex';
import { knexConfig } from 'pg-passwordless/knex';

const db = knex(await knexConfig(process.env.DATABASE_URL ?? '', { knex: { pool: { max: 5 } } }));
const { rows } = await db.raw('select current_user as role, version() as version');
console.log(`logged in as ${rows[0].role} (${rows[0].version.split(' on ')[0]})`);
await db.destroy();
