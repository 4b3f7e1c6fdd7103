import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveSettings } from '../../src/core/settings.ts';

describe('resolveSettings', () => {
  it('is off by default, and the environment alone does not switch a plugin on without the gate', () => {
    assert.equal(resolveSettings({}, {}).enabled, false);
    const withoutGate = resolveSettings(undefined, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' });
    assert.equal(withoutGate.enabled, false);
    assert.equal(withoutGate.azure.enabled, true);
  });

  it('reads the gate, the azure switch and the client id from the environment', () => {
    const resolved = resolveSettings(undefined, {
      PG_PASSWORDLESS_ENABLED: 'true',
      PG_PASSWORDLESS_AZURE_ENABLED: 'yes',
      PG_PASSWORDLESS_AZURE_CLIENT_ID: 'uami-client',
      PG_PASSWORDLESS_ALLOW: 'azure, custom',
      PG_PASSWORDLESS_DENY: 'aws',
      PG_PASSWORDLESS_PLUGINS: './a.js,pkg-b',
    });
    assert.equal(resolved.enabled, true);
    assert.equal(resolved.azure.enabled, true);
    assert.equal(resolved.azure.clientId, 'uami-client');
    assert.deepEqual([...(resolved.allow ?? [])], ['azure', 'custom']);
    assert.deepEqual([...resolved.deny], ['aws']);
    assert.deepEqual(resolved.plugins, ['./a.js', 'pkg-b']);
  });

  it('lets explicit settings beat the environment, and needs no gate for them', () => {
    const resolved = resolveSettings(
      { azure: { enabled: true, clientId: 'explicit' } },
      { PG_PASSWORDLESS_AZURE_CLIENT_ID: 'env' },
    );
    assert.equal(resolved.enabled, true);
    assert.equal(resolved.azure.clientId, 'explicit');
    assert.equal(resolveSettings({ enabled: false, azure: { enabled: true } }, {}).enabled, false);
  });

  it('rejects a boolean it cannot read, naming the variable', () => {
    assert.throws(() => resolveSettings(undefined, { PG_PASSWORDLESS_ENABLED: 'maybe' }), {
      code: 'CONFIG_INVALID',
      message: /PG_PASSWORDLESS_ENABLED="maybe" is not a boolean/,
    });
  });
});
