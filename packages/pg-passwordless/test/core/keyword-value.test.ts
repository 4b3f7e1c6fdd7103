// libpq's keyword/value connection strings, byte by byte. Every expected parse below is what libpq's
// own parser (PQconninfoParse, libpq 15) returns for the same string; where pg-passwordless differs
// on purpose (unknown keywords kept, `host= port=...` refused) the test says so.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseKeywordValue, redactKeywordValue } from '../../src/core/keyword-value.ts';

const parsed = (text: string) => Object.fromEntries(parseKeywordValue(text));

/** Every text an error can be printed as: message (with hint), stack, JSON, inspect with hidden fields. */
function printedForms(error: unknown): string {
  return [
    String(error),
    (error as Error).stack ?? '',
    JSON.stringify(error),
    inspect(error, { showHidden: true, depth: 10 }),
  ].join('\n');
}

function parseError(text: string): Error & { code?: string; hint?: string } {
  try {
    parseKeywordValue(text);
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseKeywordValue: what libpq reads', () => {
  const cases: Array<[string, Record<string, string>]> = [
    [
      'host=db.example.com port=5432 dbname=orders user=app',
      { host: 'db.example.com', port: '5432', dbname: 'orders', user: 'app' },
    ],
    ['host = db.example.com   port= 5432', { host: 'db.example.com', port: '5432' }],
    [
      'host=h\tport=5\nuser=u\vdbname=d\fsslmode=verify-full\rapplication_name=x',
      { host: 'h', port: '5', user: 'u', dbname: 'd', sslmode: 'verify-full', application_name: 'x' },
    ],
    ['  host=h  ', { host: 'h' }],
    ["dbname='my orders'", { dbname: 'my orders' }],
    ["dbname=''", { dbname: '' }],
    ['host=', { host: '' }],
    [String.raw`password='it\'s'`, { password: "it's" }],
    [String.raw`password=it\'s`, { password: "it's" }],
    [String.raw`password='back\\slash'`, { password: String.raw`back\slash` }],
    [String.raw`password=back\\slash`, { password: String.raw`back\slash` }],
    [String.raw`password='\\'`, { password: '\\' }],
    [String.raw`dbname=a\ b`, { dbname: 'a b' }],
    ['dbname=x\\', { dbname: 'x' }],
    ["password=it's", { password: "it's" }],
    ["password='a=b c'", { password: 'a=b c' }],
    ["options='-c search_path=x'", { options: '-c search_path=x' }],
    ["user='a b'port=5", { user: 'a b', port: '5' }],
    ["dbname='x'user=y", { dbname: 'x', user: 'y' }],
    ['host=h host=g', { host: 'g' }],
    ['', {}],
    [' \t\n', {}],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parsed(text), expected);
    });
  }

  it('keeps the keywords in the order written, a repeat keeping its first place with its last value', () => {
    assert.deepEqual(
      [...parseKeywordValue('user=a host=h user=b')],
      [
        ['user', 'b'],
        ['host', 'h'],
      ],
    );
  });

  it('keeps keywords libpq does not know, like a URL keeps its query parameters (libpq refuses them)', () => {
    const pairs = parseKeywordValue('host=h my_setting=on __proto__=x');
    assert.deepEqual([...pairs.keys()], ['host', 'my_setting', '__proto__']);
    assert.equal(pairs.get('__proto__'), 'x');
  });
});

describe('parseKeywordValue: refused with URL_INVALID, and no secret in the error', () => {
  const refusals: Array<[string, string, RegExp]> = [
    // libpq: "unterminated quoted string in connection info string"
    ["host=db password='S3cret", 'S3cret', /the value of "password" opens a quote that is never closed/],
    [String.raw`host=db password='S3cret\'`, 'S3cret', /the value of "password" opens a quote/],
    ["host=db password='S3cret\\", 'S3cret', /the value of "password" opens a quote/],
    ["host=db S3cretkey='x", 'S3cretkey', /the value of a keyword libpq does not know opens a quote/],
    // libpq: 'missing "=" after "..."'; the word is shown only when it is a keyword.
    ['host S3cret', 'S3cret', /"host" has no "=" after it/],
    ['host=db password=two S3cret', 'S3cret', /a word after the value of "password" has no "="/],
    ['eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJTM2NyZXQifQ.c2ln', 'eyJ', /its first word has no "=" after it/],
    // libpq: 'invalid connection option ""'
    ['host=db =S3cret', 'S3cret', /an "=" has no keyword before it/],
    // libpq reads "password=S3cret" as the host; refused here.
    [
      'host= password=S3cret',
      'S3cret',
      /"host" has a blank after "=", so libpq would read the next keyword=value as its value \(write host='' for an empty value\)/,
    ],
  ];
  for (const [text, secret, problem] of refusals) {
    it(JSON.stringify(text), () => {
      const error = parseError(text);
      assert.equal(error.code, 'URL_INVALID');
      assert.match(error.message, problem);
      assert.match(error.hint ?? '', /quote a value that holds spaces or is empty/);
      assert.ok(!printedForms(error).includes(secret), `"${secret}" printed: ${error.message}`);
    });
  }

  it('keeps a value whose blank after "=" is followed by something other than keyword=', () => {
    assert.deepEqual(parsed('options= -csearch_path=x host=h'), { options: '-csearch_path=x', host: 'h' });
  });
});

describe('redactKeywordValue', () => {
  const cases: Array<[string, string]> = [
    ['host=db user=app password=S3cret dbname=orders', 'host=db user=app password=*** dbname=orders'],
    ["host=db password = 'S3cret with spaces' user=app", 'host=db password = *** user=app'],
    [String.raw`host=db password='it\'s' user=app`, 'host=db password=*** user=app'],
    [String.raw`host=db password=it\'s\ S3cret user=app`, 'host=db password=*** user=app'],
    ['host=db\tpassword=S3cret\nuser=app', 'host=db\tpassword=***\nuser=app'],
    [
      'host=db sslpassword=S3cret oauth_client_secret=S3cret',
      'host=db sslpassword=*** oauth_client_secret=***',
    ],
    // A password with a blank, unquoted: the second word goes too.
    ['password=two S3cret host=db', 'password=*** *** host=db'],
    // An unclosed quote runs to the end, whatever its keyword.
    ["host=db password='S3cret user=app", 'host=db password=***'],
    ["host=db dbname='orders password=S3cret", 'host=db dbname=***'],
    // libpq would take "password=S3cret" as the host's value.
    ['host= password=S3cret user=app', 'host= *** user=app'],
    // A keyword libpq does not know (misspelt, upper case, or a pasted token with "=" in it).
    ['host=db PASSWORD=S3cret passwrd=S3cret', 'host=db ***=*** ***=***'],
    ['S3cretS3cret==', '***=***'],
    ['eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJTM2NyZXQifQ.c2ln', '***'],
    // What is no secret stays as written.
    [
      "host=db.example.com port = 5432 dbname='my orders' user=app sslmode=verify-full sslrootcert='/tmp/a b/ca.pem'",
      "host=db.example.com port = 5432 dbname='my orders' user=app sslmode=verify-full sslrootcert='/tmp/a b/ca.pem'",
    ],
    ['host=db password=', 'host=db password='],
    ["host=db password=''", 'host=db password=***'],
    ['', ''],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(redactKeywordValue(text), expected);
    });
  }
});
