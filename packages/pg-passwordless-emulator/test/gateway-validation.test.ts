import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  fetchManagedIdentityToken,
  gatewayClientConfig,
  tryLogin,
} from '../../pg-passwordless/test/helpers/pg-client.ts';
import { type Emulator, startEmulator } from '../src/index.ts';

describe('gateway: tokens are checked the way Azure checks them', () => {
  let emulator: Emulator;
  let nowMs = Date.now();

  before(async () => {
    emulator = await startEmulator({
      now: () => nowMs,
      identities: [{ name: 'orders-api' }, { name: 'billing-worker', kind: 'user' }],
    });
  });
  after(() => emulator?.stop());

  const login = (user: string, password: string, tls = true) =>
    tryLogin(gatewayClientConfig(emulator, user, password, tls));

  it('logs a managed identity in as its role with a token from the identity endpoint', async () => {
    const { client, error } = await login('orders-api', await fetchManagedIdentityToken(emulator));
    assert.equal(error, undefined);
    const { rows } = await (client as NonNullable<typeof client>).query('select current_user as role');
    assert.equal(rows[0].role, 'orders-api');
    await client?.end();
  });

  const rejections: Array<[string, () => Promise<[string, string]>, RegExp]> = [
    [
      'an expired token',
      async () => [
        'orders-api',
        await emulator.issueToken('orders-api', { nowMs: nowMs - 2 * 3600_000, lifetimeSeconds: 3600 }),
      ],
      /^The access token has expired\. Please acquire a new token and retry\.$/,
    ],
    [
      'a token for another resource',
      async () => [
        'orders-api',
        await emulator.issueToken('orders-api', { resource: 'https://management.azure.com' }),
      ],
      /^The access token does not have a valid audience claim\. Please acquire a new token for the resource "https:\/\/ossrdbms-aad\.database\.windows\.net"\.$/,
    ],
    [
      'a tampered signature',
      async () => {
        const token = await emulator.issueToken('orders-api');
        const [header, payload, signature] = token.split('.') as [string, string, string];
        const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
        return ['orders-api', `${header}.${payload}.${flipped}`];
      },
      /An error occurred while validating the access token/,
    ],
    [
      'a tampered payload',
      async () => {
        const token = await emulator.issueToken('billing-worker');
        const [header, payload, signature] = token.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        claims.oid = emulator.identities()[0]?.objectId;
        return [
          'orders-api',
          `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
        ];
      },
      /An error occurred while validating the access token/,
    ],
    [
      'another identity’s token',
      async () => ['orders-api', await emulator.issueToken('billing-worker')],
      /does not belong to role "orders-api"/,
    ],
    [
      'a plain password',
      async () => ['orders-api', 'hunter2'],
      /^password authentication failed for user "orders-api"$/,
    ],
    [
      'a role name in another case',
      async () => ['Orders-Api', await emulator.issueToken('orders-api')],
      /password authentication failed for user "Orders-Api"/,
    ],
  ];
  for (const [name, make, expected] of rejections) {
    it(`refuses ${name}`, async () => {
      const [user, password] = await make();
      const { client, error } = await login(user, password);
      await client?.end();
      assert.ok(error, 'the login must fail');
      assert.match(error.message, expected);
      assert.match(error.code ?? '', /^28/);
    });
  }

  it('refuses a login without TLS with PostgreSQL’s hostssl-only answer', async () => {
    const { error } = await login('orders-api', await emulator.issueToken('orders-api'), false);
    assert.match(
      error?.message ?? '',
      /no pg_hba\.conf entry for host ".*", user "orders-api", database "postgres", no encryption/,
    );
  });

  it('checks the token at login only: an open session outlives it, a new login with it fails', async () => {
    const token = await emulator.issueToken('orders-api', { lifetimeSeconds: 60 });
    const { client } = await login('orders-api', token);
    assert.ok(client);
    nowMs += 10 * 60_000;
    try {
      const { rows } = await client.query('select 1 as still_open');
      assert.equal(rows[0].still_open, 1);
      const again = await login('orders-api', token);
      assert.match(again.error?.message ?? '', /has expired/);
    } finally {
      await client.end();
    }
  });

  it('accepts tokens of several kilobytes and refuses oversized ones without falling over', async () => {
    const big = await login('orders-api', `${await emulator.issueToken('orders-api')}${'A'.repeat(6_000)}`);
    assert.match(
      big.error?.message ?? '',
      /validating the access token/,
      'a 7 KB password is read and checked',
    );
    const huge = await login('orders-api', 'x'.repeat(100_000));
    assert.match(huge.error?.message ?? '', /^password packet too long/, 'a 100 KB password is refused');
    assert.equal(huge.error?.code, '08P01', 'as a protocol violation');
    const { client } = await login('orders-api', await emulator.issueToken('orders-api'));
    assert.ok(client, 'the gateway still serves');
    await client.end();
  });

  it('counts accepted and rejected logins', () => {
    const { gateway } = emulator.counters();
    assert.equal(gateway.loginsAccepted, 3);
    assert.equal(gateway.loginsRejected, 10);
    assert.equal(gateway.protocolErrors, 1, 'the 100 KB password');
  });
});

describe('gateway: password authentication', () => {
  it('is off by default (Entra-only) and accepts the configured role when on', async () => {
    const entraOnly = await startEmulator();
    const withPasswords = await startEmulator({
      passwordRole: { name: 'legacy_app', password: 'baseline-secret' },
    });
    try {
      const refused = await tryLogin(gatewayClientConfig(entraOnly, 'legacy_app', 'baseline-secret'));
      assert.match(refused.error?.message ?? '', /password authentication failed for user "legacy_app"/);
      const accepted = await tryLogin(gatewayClientConfig(withPasswords, 'legacy_app', 'baseline-secret'));
      assert.equal(accepted.error, undefined);
      const { rows } = await (accepted.client as NonNullable<typeof accepted.client>).query(
        'select current_user as role',
      );
      assert.equal(rows[0].role, 'legacy_app');
      await accepted.client?.end();
      const wrong = await tryLogin(gatewayClientConfig(withPasswords, 'legacy_app', 'nope'));
      assert.match(wrong.error?.message ?? '', /password authentication failed/);
    } finally {
      await entraOnly.stop();
      await withPasswords.stop();
    }
  });
});
