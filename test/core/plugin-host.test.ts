import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PasswordlessError } from '../../src/core/errors.ts';
import type { Plugin } from '../../src/core/plugin.ts';
import { setDatabaseConnectionParams } from '../../src/core/plugin-host.ts';

const URL_ = 'postgresql://app@db.example.com/app';
const thirdParty = fileURLToPath(
  new URL('../../examples/third-party-plugin/application-name-plugin.ts', import.meta.url),
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
