import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordlessError } from '../../src/core/errors.ts';
import { appTlsOptions, completeTls } from '../../src/register/client-tls.ts';

const target = 'db.example.com:5432';
const library = { rejectUnauthorized: true, ca: 'PGSSLROOTCERT PEM' };

function refusal(run: () => void): PasswordlessError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PasswordlessError, String(error));
    return error;
  }
  assert.fail('not refused');
}

describe("appTlsOptions: the app's TLS choice, as pg reads it", () => {
  it('true, "true" and no choice are TLS with no options; false and the other falsy values none', () => {
    for (const ssl of [true, 'true', undefined]) assert.deepEqual(appTlsOptions(ssl), {});
    for (const ssl of [false, null, 0, '']) assert.equal(appTlsOptions(ssl), false);
    assert.deepEqual(appTlsOptions('no-verify'), { rejectUnauthorized: false });
  });

  it('an object is copied with its hidden key and passphrase, and the original is untouched', () => {
    const ssl: Record<string, unknown> = { cert: 'CERT', passphrase: 'secret' };
    Object.defineProperty(ssl, 'key', { value: 'KEY', enumerable: false });
    const copy = appTlsOptions(ssl) as Record<string, unknown>;
    assert.notEqual(copy, ssl);
    assert.equal(copy.key, 'KEY');
    assert.equal(Object.keys(copy).includes('key'), false, 'the key stays hidden from logs');
    copy.ca = 'added';
    assert.equal(ssl.ca, undefined);
  });
});

describe("completeTls: the app's options kept, the library's verification added, weaker refused", () => {
  it("adds what the app left unset; the app's CA, certificate and servername win", () => {
    const ssl = appTlsOptions({ ca: 'APP CA', cert: 'CERT', key: 'KEY', servername: 'db.internal' });
    completeTls(ssl, { ...library, checkServerIdentity: () => undefined }, target);
    assert.ok(ssl);
    assert.equal(ssl.ca, 'APP CA');
    assert.equal(ssl.cert, 'CERT');
    assert.equal(ssl.key, 'KEY');
    assert.equal(ssl.servername, 'db.internal');
    assert.equal(ssl.rejectUnauthorized, true);
    assert.equal(typeof ssl.checkServerIdentity, 'function');
  });

  it("an app with no options gets all of the library's; an option set to undefined counts as unset", () => {
    const none = appTlsOptions(true);
    completeTls(none, library, target);
    assert.deepEqual(none, library);
    const unset = appTlsOptions({ ca: undefined, rejectUnauthorized: undefined });
    completeTls(unset, library, target);
    assert.deepEqual(unset, library);
  });

  it('refuses TLS off and verification off with TLS_REQUIRED and a hint, naming the target', () => {
    for (const weaker of [false, 'no-verify', { rejectUnauthorized: false, ca: 'APP CA' }]) {
      const error = refusal(() => completeTls(appTlsOptions(weaker), library, target));
      assert.equal(error.code, 'TLS_REQUIRED');
      assert.match(error.message, /db\.example\.com:5432/);
      assert.match(error.hint ?? '', /^Remove /);
    }
  });

  it("a plugin that asks for no verification (a third-party one) leaves the app's choice alone", () => {
    const off = appTlsOptions(false);
    completeTls(off, false, target);
    assert.equal(off, false);
    const weak = appTlsOptions({ rejectUnauthorized: false });
    completeTls(weak, { rejectUnauthorized: false }, target);
    assert.deepEqual(weak, { rejectUnauthorized: false });
    const own = appTlsOptions({ cert: 'CERT' });
    completeTls(own, undefined, target);
    assert.deepEqual(own, { cert: 'CERT' });
  });
});
