// A token planted in every input an error can be built from must not come out of the error: not in
// its message, stack, JSON, `inspect` (showHidden), nor anywhere in its `cause` chain.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { startEmulator } from 'pg-passwordless-emulator';
import { pgConfig } from '../../src/adapters/pg.ts';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import { parseConnectionUrl, redactUrl } from '../../src/core/connection-url.ts';
import { resolveSettings } from '../../src/core/settings.ts';
import { buildTlsOptions } from '../../src/core/tls.ts';

// Shaped like the real thing: a JWT, and a raw RDS token (with '/', '?', '&', ':' and '=').
const JWT =
  'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJzZWNyZXQtdG9rZW4tcGxhbnRlZCJ9.c2lnbmF0dXJlLXNlY3JldA';
const RDS =
  'db.example.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261129&X-Amz-Signature=0123456789abcdef';
const SECRET_PARTS = ['c2lnbmF0dXJlLXNlY3JldA', '0123456789abcdef'];

function leaks(error: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error; current && !seen.has(current); current = (current as Error).cause) {
    seen.add(current);
    const texts = [
      String(current),
      (current as Error).stack ?? '',
      JSON.stringify(current) ?? '',
      inspect(current, { showHidden: true, depth: 10 }),
    ];
    for (const part of SECRET_PARTS) if (texts.some((text) => text.includes(part))) found.push(part);
  }
  return found;
}

async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

const credential = { getToken: async () => ({ token: JWT, expiresOnTimestamp: Date.now() + 3_600_000 }) };
const settings = () => ({ azure: { enabled: true, credential }, env: {}, caches: createCacheRegistry() });

describe('no token in any error', () => {
  const cases: Array<[string, string, () => unknown]> = [
    [
      'URL_INVALID',
      'malformed URL with a JWT as its password',
      () => parseConnectionUrl(`postgresql://app:${JWT}@db:99999/x`),
    ],
    [
      'URL_INVALID',
      'a raw RDS token as the password',
      () => parseConnectionUrl(`postgresql://app:${RDS}@db.example.com/x`),
    ],
    ['URL_INVALID', 'a URL naming no host', () => parseConnectionUrl(`postgresql://app:${JWT}@/x`)],
    ['URL_INVALID', 'a token as the port', () => parseConnectionUrl(`postgresql://db/x?port=${JWT}`)],
    [
      'CONFIG_INVALID',
      'a token in a boolean variable',
      () => resolveSettings({}, { PG_PASSWORDLESS_ENABLED: JWT }),
    ],
    [
      'CONFIG_INVALID',
      'a token as the sslmode',
      () => buildTlsOptions(parseConnectionUrl('postgresql://db/x'), {}, { PGSSLMODE: JWT }),
    ],
    [
      'TLS_REQUIRED',
      'a password in a URL that disables TLS',
      () => pgConfig(`postgresql://app:${JWT}@db.example.com/x?sslmode=disable`, settings()),
    ],
  ];
  for (const [code, what, run] of cases) {
    it(`${code}: ${what}`, async () => {
      const error = await errorOf(run);
      assert.equal((error as { code?: string }).code, code, String(error));
      assert.deepEqual(leaks(error), []);
    });
  }

  it('EMULATOR_FAILED: a backend URL with a password', async () => {
    const error = await errorOf(() =>
      startEmulator({ backend: { url: `postgresql://admin:${JWT}@127.0.0.1:1/postgres` } }),
    );
    assert.equal((error as { code?: string }).code, 'EMULATOR_FAILED', String(error));
    assert.deepEqual(leaks(error), []);
  });

  it('redactUrl redacts any password, raw RDS tokens and password parameters included', () => {
    for (const url of [
      `postgresql://app:${JWT}@db/x`,
      `postgresql://app:${RDS}@db.example.com/x`,
      `postgresql://db/x?user=app&password=${JWT}`,
      `postgres+asyncpg://app:${RDS}@db.example.com:5432/x?sslmode=verify-full`,
    ]) {
      const redacted = redactUrl(url);
      assert.ok(!SECRET_PARTS.some((part) => redacted.includes(part)), redacted);
      assert.match(redacted, /\*\*\*/);
    }
  });
});
