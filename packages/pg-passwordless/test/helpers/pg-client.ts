import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Emulator } from 'pg-passwordless-emulator';

/** Options for a pg client that logs in to the emulator's gateway with `password`, verifying its CA. */
export function gatewayClientConfig(
  emulator: Emulator,
  user: string,
  password: string,
  tls = true,
): pg.ClientConfig {
  return {
    host: emulator.gateway.host,
    port: emulator.gateway.port,
    database: emulator.backend.database,
    user,
    password,
    ssl: tls ? { ca: readFileSync(emulator.caPath), rejectUnauthorized: true } : false,
  };
}

/** Connects, or returns the error the server sent. */
export async function tryLogin(
  config: pg.ClientConfig,
): Promise<{ client?: pg.Client; error?: Error & { code?: string } }> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
    return { client };
  } catch (error) {
    return { error: error as Error & { code?: string } };
  }
}

/** Gets a token from the emulator's App Service endpoint, as curl would. */
export async function fetchManagedIdentityToken(emulator: Emulator, query = ''): Promise<string> {
  const url = `${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ossrdbms-aad.database.windows.net${query}`;
  const response = await fetch(url, {
    headers: { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER as string },
  });
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
