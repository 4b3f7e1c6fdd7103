// A CommonJS app that relies on libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE) alone.
const { Client } = require('pg');

async function main() {
  const client = new Client();
  await client.connect();
  const { rows } = await client.query('select current_user');
  console.log(JSON.stringify({ role: rows[0].current_user }));
  await client.end();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
