import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '../../src/core/contract.ts';
import { PasswordlessError } from '../../src/core/errors.ts';
import { setDatabaseConnectionParams } from '../../src/index.ts';

const URL_ = 'postgresql://app@db.example.com/app';
const thirdParty = fileURLToPath(
  new URL('../../../../examples/third-party-plugin/application-name-plugin.ts', import.meta.url),
);

function collectingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (message: string) => warnings.push(message) } };
}

describe('setDatabaseConnectionParams (plugin host)', () => {
  it('returns {} when the gate is off, without loading plugins', async () => {
    const { warnings, logger } = collectingLogger();
    const result = await setDatabaseConnectionParams(URL_, {
      env: { PG_PASSWORDLESS_PLUGINS: '/does/not/exist.js' },
      logger,
    });
    assert.deepEqual(result, {});
    assert.deepEqual(warnings, []);
  });

  it('runs plugins in order, sync and async, merging shallowly with the later one winning', async () => {
    const first: Plugin = {
      name: 'first',
      setDatabaseConnectionParams: () => ({ user: 'a', application_name: 'first' }),
    };
    const second: Plugin = { name: 'second', setDatabaseConnectionParams: async () => ({ user: 'b' }) };
    const result = await setDatabaseConnectionParams(URL_, { plugins: [first, second], env: {} });
    assert.deepEqual(result, { user: 'b', application_name: 'first' });
  });

  it('reports a throwing or hanging plugin by name and still applies the others', async () => {
    const { warnings, logger } = collectingLogger();
    const broken: Plugin = {
      name: 'broken',
      setDatabaseConnectionParams: () => {
        throw new Error('boom');
      },
    };
    const hanging: Plugin = { name: 'hanging', setDatabaseConnectionParams: () => new Promise(() => {}) };
    const good: Plugin = { name: 'good', setDatabaseConnectionParams: () => ({ user: 'ok' }) };
    const result = await setDatabaseConnectionParams(URL_, {
      plugins: [broken, hanging, good],
      pluginTimeoutMs: 50,
      logger,
      env: {},
    });
    assert.deepEqual(result, { user: 'ok' });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /plugin "broken" failed .*boom/);
    assert.match(warnings[1] ?? '', /plugin "hanging" failed .*timed out after 50 ms/);
  });

  it('fails closed on a configuration error instead of connecting without the token', async () => {
    const { warnings, logger } = collectingLogger();
    const misconfigured: Plugin = {
      name: 'misconfigured',
      setDatabaseConnectionParams: () => {
        throw new PasswordlessError('TLS_REQUIRED', 'sslmode=disable would send the token in clear text.');
      },
    };
    await assert.rejects(setDatabaseConnectionParams(URL_, { plugins: [misconfigured], logger, env: {} }), {
      code: 'TLS_REQUIRED',
    });
    assert.deepEqual(warnings, []);
  });

  it('filters by allow and deny lists', async () => {
    const a: Plugin = { name: 'a', setDatabaseConnectionParams: () => ({ a: 1 }) };
    const b: Plugin = { name: 'b', setDatabaseConnectionParams: () => ({ b: 1 }) };
    assert.deepEqual(await setDatabaseConnectionParams(URL_, { plugins: [a, b], allow: ['a'], env: {} }), {
      a: 1,
    });
    assert.deepEqual(await setDatabaseConnectionParams(URL_, { plugins: [a, b], deny: ['a'], env: {} }), {
      b: 1,
    });
  });

  it('loads a third-party plugin module named in PG_PASSWORDLESS_PLUGINS', async () => {
    const env = {
      PG_PASSWORDLESS_ENABLED: 'true',
      PG_PASSWORDLESS_PLUGINS: thirdParty,
      APP_NAME: 'orders-api',
    };
    assert.deepEqual(await setDatabaseConnectionParams(URL_, { env }), { application_name: 'orders-api' });
  });

  it('warns about a module that cannot be loaded or is not a plugin, and carries on', async () => {
    const { warnings, logger } = collectingLogger();
    const notAPlugin = fileURLToPath(new URL('../../src/core/errors.ts', import.meta.url));
    const env = {
      PG_PASSWORDLESS_ENABLED: 'true',
      PG_PASSWORDLESS_PLUGINS: `./missing-plugin.js,${notAPlugin}`,
    };
    assert.deepEqual(await setDatabaseConnectionParams(URL_, { env, logger }), {});
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /missing-plugin\.js/);
    assert.match(warnings[1] ?? '', /PLUGIN_INVALID/);
  });
});

describe('the connection contract', () => {
  it('gives plugins the URL parsed once as a third argument; two-argument plugins keep working', async () => {
    const seen: unknown[] = [];
    const threeArgs: Plugin = {
      name: 'three',
      setDatabaseConnectionParams: (_url, _settings, target) => {
        seen.push(structuredClone(target));
        target.params = { sslmode: 'disable' }; // a copy: the next plugin does not see this
        return { application_name: `app@${target.host}` };
      },
    };
    const twoArgs: Plugin = {
      name: 'two',
      setDatabaseConnectionParams: (connectionUrl, settings) => ({
        options: `${connectionUrl}|${settings.env.X}`,
      }),
    };
    const after: Plugin = {
      name: 'after',
      setDatabaseConnectionParams: (_url, _settings, target) => {
        seen.push(target.params);
        return undefined;
      },
    };
    const result = await setDatabaseConnectionParams(`${URL_}?sslmode=verify-full`, {
      plugins: [threeArgs, twoArgs, after],
      env: { X: 'x' },
    });
    assert.deepEqual(result, {
      application_name: 'app@db.example.com',
      options: `${URL_}?sslmode=verify-full|x`,
    });
    assert.deepEqual(seen, [
      {
        host: 'db.example.com',
        port: 5432,
        database: 'app',
        user: 'app',
        params: { sslmode: 'verify-full' },
      },
      { sslmode: 'verify-full' },
    ]);
  });

  it('keeps the password and the token handle together when a later plugin overrides one of them', async () => {
    const handle = (token: string) => ({
      getToken: async () => token,
      invalidate: async () => ({ renewed: true }),
      expiresAtMs: () => undefined,
      stats: () => ({
        fetches: 0,
        fetchFailures: 0,
        cacheHits: 0,
        waits: 0,
        waitMs: 0,
        refreshes: 0,
        sameTokenReturns: 0,
        invalidations: 0,
      }),
      on: () => () => {},
    });
    const cloud: Plugin = {
      name: 'cloud',
      setDatabaseConnectionParams: () => ({ user: 'u', token: handle('first') }),
    };
    const passwordOnly: Plugin = {
      name: 'password-only',
      setDatabaseConnectionParams: () => ({ password: async () => 'from-function' }),
    };
    const withHandle = await setDatabaseConnectionParams(URL_, { plugins: [cloud], env: {} });
    assert.equal(await withHandle.password?.(), 'first', 'the password reads the handle');
    const overridden = await setDatabaseConnectionParams(URL_, { plugins: [cloud, passwordOnly], env: {} });
    assert.equal(await overridden.password?.(), 'from-function');
    assert.equal(overridden.token, undefined, 'the handle no longer backs the password, so it goes');
    assert.equal(overridden.user, 'u');
  });
});
