// Run by test/adapters/pg-key-value-url.test.ts, in its own process (the real Azure SDK keeps its
// managed-identity state process-wide): createPool and pgConfig from pg-passwordless/pg with
// DATABASE_URL in libpq's key/value form, as an app passes it. Prints one JSON line; never a token.
import { createPool, pgConfig } from '../../src/adapters/pg.ts';

const url = process.env.DATABASE_URL ?? '';
const config = await pgConfig(url);
const pool = await createPool(url);
const { rows } = await pool.query(
  `select current_user as "user", current_database() as database, current_setting('application_name') as "applicationName"`,
);
await pool.end();
const ssl = config.ssl === false ? undefined : config.ssl;
console.log(
  JSON.stringify({
    ...rows[0],
    config: {
      host: config.host,
      port: config.port,
      database: config.database,
      user: config.user,
      applicationName: config.application_name,
      passwordIsFunction: typeof config.password === 'function',
      rejectUnauthorized: ssl?.rejectUnauthorized,
      ca: ssl?.ca === undefined ? undefined : String(ssl.ca).includes('BEGIN CERTIFICATE'),
    },
  }),
);
