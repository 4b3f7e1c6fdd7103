// An app that turns TLS verification off for the target, in each of the ways pg allows: the preload
// refuses each connect (the token would go to a server nobody verified), before any socket opens.
const pg = require('pg');
const { settle } = require('./differential/observe.cjs');

const { PGHOST, PGPORT, PGDATABASE } = process.env;
const url = `postgresql://${PGHOST}:${PGPORT}/${PGDATABASE}`;

async function main() {
  const choices = {
    'ssl: { rejectUnauthorized: false }': { ssl: { rejectUnauthorized: false } },
    "ssl: 'no-verify'": { ssl: 'no-verify' },
    'ssl: false': { ssl: false },
    'sslmode=no-verify': { connectionString: `${url}?sslmode=no-verify` },
    'sslmode=disable': { connectionString: `${url}?sslmode=disable` },
  };
  for (const [name, config] of Object.entries(choices)) {
    const client = new pg.Client(config);
    await settle(name, client.connect()).catch(() => undefined);
    await client.end();
  }
  // The same through pg.defaults, the form older apps set once for every client.
  pg.defaults.ssl = { rejectUnauthorized: false };
  const pool = new pg.Pool();
  await settle('pg.defaults.ssl = { rejectUnauthorized: false }', pool.query('select 1')).catch(
    () => undefined,
  );
  await pool.end();
}
main();
