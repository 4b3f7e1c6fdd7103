// --backend-url is read by the emulator's own parser (it imports nothing of the library's URL code):
// postgresql:// URLs only, with libpq's defaults; anything else is refused without the string, and a
// password never reaches a message, however the URL around it is malformed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseAdminUrl, redactAdminUrl } from '../src/admin-url.ts';
import { EmulatorError } from '../src/emulator-error.ts';

const SECRET = 'S3cret-Admin-Password';

/** Everything an error shows of itself, down its cause chain. */
function printed(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current; current = (current as Error).cause) {
    parts.push(String(current), (current as Error).stack ?? '', inspect(current, { showHidden: true }));
  }
  return parts.join('\n');
}

function refusal(url: string): EmulatorError {
  try {
    parseAdminUrl(url);
  } catch (error) {
    assert.ok(error instanceof EmulatorError, String(error));
    return error;
  }
  assert.fail(`${redactAdminUrl(url)} was accepted`);
}

describe('parseAdminUrl', () => {
  it('reads host, port, user, database, password and sslmode, with libpq’s defaults', () => {
    assert.deepEqual(parseAdminUrl(`postgresql://admin:${SECRET}@db.internal:6543/app?sslmode=require`), {
      host: 'db.internal',
      port: 6543,
      user: 'admin',
      database: 'app',
      password: SECRET,
      sslmode: 'require',
    });
    assert.deepEqual(parseAdminUrl('postgres://db.internal'), {
      host: 'db.internal',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      password: undefined,
      sslmode: 'prefer',
    });
  });

  it('decodes what is percent-encoded, and takes the query’s host (a socket folder), user, dbname and password', () => {
    const target = parseAdminUrl(
      'postgresql:///?host=/run/postgresql&port=5433&user=db%40admin&dbname=my%20db&password=p%26w',
    );
    assert.deepEqual(target, {
      host: '/run/postgresql',
      port: 5433,
      user: 'db@admin',
      database: 'my db',
      password: 'p&w',
      sslmode: 'prefer',
    });
    assert.equal(parseAdminUrl('postgresql://a%40b:p%2Fw@[::1]:5432/x').host, '::1');
    assert.equal(parseAdminUrl('postgresql://a%40b:p%2Fw@[::1]:5432/x').user, 'a@b');
    assert.equal(parseAdminUrl('postgresql://a%40b:p%2Fw@[::1]:5432/x').password, 'p/w');
  });

  it('refuses a key/value string, another scheme, no host, a bad port or escape, never showing the string', () => {
    for (const [url, pattern] of [
      [`host=127.0.0.1 user=postgres password='${SECRET}'`, /must be a postgresql:\/\/ URL/],
      [`mysql://admin:${SECRET}@db/app`, /scheme "mysql:"/],
      [`postgresql:///app?password=${SECRET}`, /names no host/],
      [`postgresql://admin:${SECRET}@db:0/app`, /port that is not 1 to 65535/],
      [`postgresql://admin:${SECRET}%zz@db/app`, /malformed %-escape/],
    ] as const) {
      const error = refusal(url);
      assert.equal(error.code, 'EMULATOR_FAILED');
      assert.match(error.message, pattern);
      assert.match(error.message, /\nHint: Write it as postgresql:\/\//);
      assert.ok(!printed(error).includes(SECRET), printed(error));
    }
  });
});

describe('redactAdminUrl', () => {
  it('hides the password, and a password= parameter', () => {
    assert.equal(redactAdminUrl(`postgresql://admin:${SECRET}@db/app`), 'postgresql://admin:***@db/app');
    assert.equal(
      redactAdminUrl(`postgresql://db/app?user=admin&password=${SECRET}&sslmode=require`),
      'postgresql://db/app?user=admin&password=***&sslmode=require',
    );
  });

  it('hides a password that holds "/", "?", "#" or "@", which the URL parser would read as host, port or query', () => {
    for (const password of [`${SECRET}/x`, `12?${SECRET}`, `12#${SECRET}`, `a@${SECRET}`]) {
      const redacted = redactAdminUrl(`postgresql://admin:${password}@db.internal:5432/app`);
      assert.equal(redacted, 'postgresql://admin:***@db.internal:5432/app');
    }
  });

  it('leaves a URL without a password as it is', () => {
    for (const url of [
      'postgresql://admin@db/app',
      'postgresql://db:5432/app',
      'postgresql:///app?host=/run/pg',
    ]) {
      assert.equal(redactAdminUrl(url), url);
    }
  });
});
