// One resolution, read by everyone: for each sslmode, CA source and RDS host form, what `doctor` reports
// (sslmode, where the CA comes from, region, signing host, role) is what the connection resolved and what
// the driver is handed. A rule copied into the doctor would drift from the connection's; this table
// would then fail. Offline: the credentials are given in code, and DNS for the made-up hosts fails fast.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toPgConfig } from '../../src/adapters/pg.ts';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import { describeCaSource } from '../../src/core/tls.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';
import { runDoctor } from '../../src/doctor/run-doctor.ts';
import { resolveConnection, type Settings } from '../../src/index.ts';

const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-resolution-'));
after(() => rmSync(folder, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';
const caFile = join(folder, 'server-ca.pem');
writeFileSync(caFile, PEM);

/** An Entra-like credential given in code: no identity endpoint is asked. */
const azureCredential = {
  getToken: async () => ({
    token: `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ aud: 'https://ossrdbms-aad.database.windows.net', upn: 'dev@contoso.com' })).toString('base64url')}.c2ln`,
    expiresOnTimestamp: Date.now() + 3_600_000,
  }),
};
/** Static AWS credentials: RDS tokens are signed locally. */
const awsCredentials = {
  accessKeyId: 'AKIAEXAMPLEEXAMPLE00',
  secretAccessKey: 'example-secret-for-signing-only',
};

interface Case {
  name: string;
  url: string;
  settings: Settings;
  env?: Record<string, string>;
  /** What the rule must decide, stated here independently of the code. */
  expect: { sslmode: string; caSource: string; region?: string; signingHost?: string } | { refused: string };
}

const azure = (query: string): string =>
  `postgresql://orders-api@srv.postgres.database.azure.com/orders${query}`;
const azureSettings = (tls: Settings['tls'] = {}): Settings => ({
  azure: { enabled: true, credential: azureCredential },
  tls,
});
const aws = (host: string, query = ''): string => `postgresql://app_user@${host}:5432/orders${query}`;
const awsSettings = (more: Record<string, unknown> = {}): Settings => ({
  aws: { enabled: true, credentials: awsCredentials, ...more },
});

const CASES: Case[] = [
  // sslmodes, with the system store (Azure names no CA of its own).
  {
    name: 'azure, verify-full by default, system store',
    url: azure(''),
    settings: azureSettings(),
    expect: { sslmode: 'verify-full', caSource: 'system' },
  },
  {
    name: 'azure, verify-ca with the system store is refused',
    url: azure('?sslmode=verify-ca'),
    settings: azureSettings(),
    expect: { refused: 'TLS_REQUIRED' },
  },
  {
    name: 'azure, require is refused without allowInsecure',
    url: azure('?sslmode=require'),
    settings: azureSettings(),
    expect: { refused: 'TLS_REQUIRED' },
  },
  {
    name: 'azure, require with allowInsecure: nothing verified',
    url: azure('?sslmode=require'),
    settings: azureSettings({ allowInsecure: true }),
    expect: { sslmode: 'require', caSource: 'none' },
  },
  {
    name: 'azure, an unknown sslmode',
    url: azure('?sslmode=verify-everything'),
    settings: azureSettings(),
    expect: { refused: 'CONFIG_INVALID' },
  },
  // CA sources, in their order of precedence.
  {
    name: 'tls.ca in code',
    url: azure('?sslmode=verify-ca'),
    settings: azureSettings({ ca: PEM }),
    expect: { sslmode: 'verify-ca', caSource: 'tls.ca' },
  },
  {
    name: 'tls.caFile in code',
    url: azure(`?sslrootcert=${caFile}`),
    settings: azureSettings({ caFile }),
    expect: { sslmode: 'verify-full', caSource: 'tls.caFile' },
  },
  {
    name: 'sslrootcert in the URL',
    url: azure(`?sslmode=verify-ca&sslrootcert=${caFile}`),
    settings: azureSettings(),
    expect: { sslmode: 'verify-ca', caSource: 'sslrootcert' },
  },
  {
    name: 'PGSSLROOTCERT',
    url: azure(''),
    settings: azureSettings(),
    env: { PGSSLROOTCERT: caFile, PGSSLMODE: 'verify-ca' },
    expect: { sslmode: 'verify-ca', caSource: 'PGSSLROOTCERT' },
  },
  {
    name: 'sslrootcert=system with verify-full',
    url: azure('?sslrootcert=system'),
    settings: azureSettings(),
    expect: { sslmode: 'verify-full', caSource: 'system' },
  },
  {
    name: 'sslrootcert=system with verify-ca is refused',
    url: azure('?sslrootcert=system&sslmode=verify-ca'),
    settings: azureSettings(),
    expect: { refused: 'TLS_REQUIRED' },
  },
  {
    name: 'an unreadable CA file',
    url: azure('?sslrootcert=/nowhere/ca.pem'),
    settings: azureSettings(),
    expect: { refused: 'CONFIG_INVALID' },
  },
  // The cloud's own CA (the RDS bundle), and the RDS host forms.
  {
    name: 'aws, the RDS bundle, a DB instance',
    url: aws('orders.c9akciq32.eu-west-1.rds.amazonaws.com'),
    settings: awsSettings(),
    expect: {
      sslmode: 'verify-full',
      caSource: 'cloud',
      region: 'eu-west-1',
      signingHost: 'orders.c9akciq32.eu-west-1.rds.amazonaws.com:5432',
    },
  },
  {
    name: 'aws, verify-ca with the RDS bundle (a private CA)',
    url: aws('orders.c9akciq32.eu-west-1.rds.amazonaws.com', '?sslmode=verify-ca'),
    settings: awsSettings(),
    expect: { sslmode: 'verify-ca', caSource: 'cloud', region: 'eu-west-1' },
  },
  {
    name: 'aws, an Aurora reader endpoint in China (.com.cn)',
    url: aws('orders.cluster-ro-abc123.cn-north-1.rds.amazonaws.com.cn'),
    settings: awsSettings(),
    expect: { sslmode: 'verify-full', caSource: 'cloud', region: 'cn-north-1' },
  },
  {
    name: 'aws, an RDS Proxy endpoint',
    url: aws('orders-proxy.proxy-abc123.ap-southeast-2.rds.amazonaws.com'),
    settings: awsSettings(),
    expect: { sslmode: 'verify-full', caSource: 'cloud', region: 'ap-southeast-2' },
  },
  {
    name: 'aws, a host name in capitals',
    url: aws('ORDERS.ABC123.EU-CENTRAL-1.RDS.AMAZONAWS.COM'),
    settings: awsSettings(),
    expect: { sslmode: 'verify-full', caSource: 'cloud', region: 'eu-central-1' },
  },
  {
    name: 'aws, a custom DNS name signed for the RDS endpoint',
    url: aws('db.internal.example.com'),
    settings: awsSettings({ signingHost: 'orders.abc123.us-west-2.rds.amazonaws.com:5432' }),
    expect: {
      sslmode: 'verify-full',
      caSource: 'cloud',
      region: 'us-west-2',
      signingHost: 'orders.abc123.us-west-2.rds.amazonaws.com:5432',
    },
  },
  {
    name: 'aws, the region given overrides the host',
    url: aws('orders.abc123.us-east-1.rds.amazonaws.com'),
    settings: awsSettings({ region: 'us-east-2' }),
    expect: { sslmode: 'verify-full', caSource: 'cloud', region: 'us-east-2' },
  },
  {
    name: 'aws, a CA file named wins over the RDS bundle',
    url: aws('orders.abc123.us-east-1.rds.amazonaws.com', `?sslrootcert=${caFile}`),
    settings: awsSettings(),
    expect: { sslmode: 'verify-full', caSource: 'sslrootcert', region: 'us-east-1' },
  },
  {
    name: 'aws, sslrootcert=system: the public roots, not the bundle',
    url: aws('orders.abc123.us-east-1.rds.amazonaws.com', '?sslrootcert=system'),
    settings: awsSettings(),
    expect: { sslmode: 'verify-full', caSource: 'system', region: 'us-east-1' },
  },
];

const step = (report: DoctorReport, name: string) => report.steps.find((one) => one.step === name);

describe('one resolution: what the doctor reports is what the connection uses', () => {
  for (const entry of CASES) {
    it(entry.name, async () => {
      const env = { PG_PASSWORDLESS_ENABLED: 'true', ...entry.env };
      const settings = (): Settings => ({ ...entry.settings, env, caches: createCacheRegistry() });
      const report = await runDoctor(entry.url, { settings: settings(), env, networkTimeoutMs: 200 });
      const settingsStep = step(report, 'settings');
      if ('refused' in entry.expect) {
        await assert.rejects(resolveConnection(entry.url, settings()), { code: entry.expect.refused });
        assert.equal(settingsStep?.status, 'FAIL');
        assert.equal(settingsStep?.code, entry.expect.refused, JSON.stringify(settingsStep));
        return;
      }
      const connection = await resolveConnection(entry.url, settings());
      const tls = connection.tls;
      assert.ok(tls);
      // The rule decided what the table says...
      assert.equal(tls.sslmode, entry.expect.sslmode);
      assert.equal(tls.ca.from, entry.expect.caSource);
      // ...the doctor reports exactly that...
      assert.equal(settingsStep?.status, 'ok', JSON.stringify(settingsStep));
      assert.equal(settingsStep?.data?.sslmode, tls.sslmode);
      assert.equal(settingsStep?.data?.caSource, tls.ca.from);
      assert.equal(settingsStep?.data?.trustStore, describeCaSource(tls.ca, env));
      assert.equal(settingsStep?.data?.user, connection.role?.name);
      assert.equal(settingsStep?.data?.userFrom, connection.role?.from);
      // ...and the driver is handed the very options resolved.
      assert.deepEqual(toPgConfig(connection.target, connection.params).ssl, tls.options);
      const facts = connection.cloud?.identity.facts ?? {};
      const credential = step(report, 'credential')?.data ?? {};
      if (entry.expect.region !== undefined) {
        assert.equal(facts.region, entry.expect.region);
        assert.equal(credential.region, facts.region);
        assert.equal(credential.signingHost, facts.signingHost);
      }
      if (entry.expect.signingHost !== undefined) assert.equal(facts.signingHost, entry.expect.signingHost);
    });
  }
});
