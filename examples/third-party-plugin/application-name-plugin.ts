import type { Plugin } from 'pg-passwordless';

/**
 * A third-party plugin, as a separate package would write one: a plain object with a name and the
 * hook. Enable it with `PG_PASSWORDLESS_PLUGINS=./application-name-plugin.js` (or a package name), or
 * pass it in `settings.plugins`. This one tags every connection with the app's name for
 * `pg_stat_activity`.
 */
const applicationNamePlugin: Plugin = {
  name: 'application-name',
  setDatabaseConnectionParams(_connectionUrl, settings) {
    const name = settings.env.APP_NAME;
    return name ? { application_name: name } : {};
  },
};

export default applicationNamePlugin;
