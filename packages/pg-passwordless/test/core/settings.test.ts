import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CloudDefinition } from '../../src/core/cloud.ts';
import { cloudOptions, isCloudOn } from '../../src/core/cloud-connection.ts';
import type { ResolvedSettings } from '../../src/core/contract.ts';
import { resolveSettings } from '../../src/core/settings.ts';
import { builtInClouds, type Settings } from '../../src/index.ts';

/** A built-in cloud's section as it resolves: its switch and its options. */
function section(name: string, settings: ResolvedSettings): Record<string, unknown> & { enabled: boolean } {
  const cloud = builtInClouds.find((candidate) => candidate.name === name);
  if (!cloud) throw new Error(`no cloud ${name}`);
  return { ...cloudOptions(cloud as CloudDefinition, settings), enabled: isCloudOn(cloud, settings, false) };
}
const resolveAzureSettings = (settings: ResolvedSettings) => section('azure', settings);
const resolveAwsSettings = (settings: ResolvedSettings) => section('aws', settings);
const resolveGcpSettings = (settings: ResolvedSettings) => section('gcp', settings);

const resolve = (settings: Settings | undefined, env: Record<string, string>) =>
  resolveSettings(settings, env);

describe('resolveSettings', () => {
  it('is off by default, and the environment alone does not switch a plugin on without the gate', () => {
    assert.equal(resolve({}, {}).enabled, false);
    const withoutGate = resolve(undefined, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' });
    assert.equal(withoutGate.enabled, false);
    assert.equal(resolveAzureSettings(withoutGate).enabled, true);
  });

  it('reads the gate, the azure switch and the client id from the environment', () => {
    const resolved = resolve(undefined, {
      PG_PASSWORDLESS_ENABLED: 'true',
      PG_PASSWORDLESS_AZURE_ENABLED: 'yes',
      PG_PASSWORDLESS_AZURE_CLIENT_ID: 'uami-client',
      PG_PASSWORDLESS_ALLOW: 'azure, custom',
      PG_PASSWORDLESS_DENY: 'aws',
      PG_PASSWORDLESS_PLUGINS: './a.js,pkg-b',
    });
    assert.equal(resolved.enabled, true);
    assert.equal(resolveAzureSettings(resolved).enabled, true);
    assert.equal(resolveAzureSettings(resolved).clientId, 'uami-client');
    assert.deepEqual([...(resolved.allow ?? [])], ['azure', 'custom']);
    assert.deepEqual([...resolved.deny], ['aws']);
    assert.deepEqual(resolved.plugins, ['./a.js', 'pkg-b']);
  });

  it('lets explicit settings beat the environment, and needs no gate for them', () => {
    const resolved = resolve(
      { azure: { enabled: true, clientId: 'explicit' } },
      { PG_PASSWORDLESS_AZURE_CLIENT_ID: 'env' },
    );
    assert.equal(resolved.enabled, true);
    assert.equal(resolveAzureSettings(resolved).clientId, 'explicit');
    assert.equal(resolve({ enabled: false, azure: { enabled: true } }, {}).enabled, false);
  });

  it('resolves the aws and gcp sections each in its plugin, explicit over environment', () => {
    const env = {
      PG_PASSWORDLESS_AWS_ENABLED: 'on',
      PG_PASSWORDLESS_AWS_REGION: 'eu-west-1',
      PG_PASSWORDLESS_AWS_SIGNING_HOST: 'db.internal:5432',
      PG_PASSWORDLESS_GCP_ENABLED: 'false',
    };
    const aws = resolveAwsSettings(resolve({ aws: { region: 'us-east-2' } }, env));
    assert.deepEqual(
      { enabled: aws.enabled, region: aws.region, signingHost: aws.signingHost },
      { enabled: true, region: 'us-east-2', signingHost: 'db.internal:5432' },
    );
    assert.equal(resolveGcpSettings(resolve({}, env)).enabled, false);
    assert.equal(resolveGcpSettings(resolve({ gcp: { enabled: true } }, env)).enabled, true);
  });

  it('rejects a boolean it cannot read, naming the variable, and a section that is not an object', () => {
    assert.throws(() => resolve(undefined, { PG_PASSWORDLESS_ENABLED: 'maybe' }), {
      code: 'CONFIG_INVALID',
      message: /PG_PASSWORDLESS_ENABLED="maybe" is not a boolean/,
    });
    const wrong = resolveSettings({ azure: true } as unknown as Settings, {});
    assert.throws(() => resolveAzureSettings(wrong), {
      code: 'CONFIG_INVALID',
      message: /settings.azure must be an object/,
    });
  });
});
