// Resolves a token through the built package and returns: the process must exit on its own,
// because the token cache's refresh timer never keeps a process alive.
// Run with the emulator's environment (PG_PASSWORDLESS_ENABLED=true PG_PASSWORDLESS_AZURE_ENABLED=true ...).
import { setDatabaseConnectionParams } from 'pg-passwordless';

const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '');
const token = await params.password();
// Print facts about the token, never the token.
console.log(`resolved a token of ${token.length} characters for role ${params.user}`);
