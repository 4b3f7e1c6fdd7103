import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUrl } from '@aws-sdk/core/util';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { EMULATOR_TENANT_ID } from '../src/clouds/azure-identities.ts';
import { type Emulator, startEmulator } from '../src/index.ts';

/** An RDS IAM token as the rds-signer makes it, but signed at `signedAt` and valid for `expiresIn` seconds. */
async function rdsToken(
  emulator: Emulator,
  user: string,
  signedAt: Date,
  expiresIn: number,
): Promise<string> {
  const { host, port } = emulator.gateway;
  const signer = new SignatureV4({
    service: 'rds-db',
    region: emulator.aws?.region ?? '',
    credentials: emulator.aws?.currentCredentials() ?? { accessKeyId: '', secretAccessKey: '' },
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: host,
    port,
    query: { Action: 'connect', DBUser: user },
    headers: { host: `${host}:${port}` },
  });
  const presigned = await signer.presign(request, { expiresIn, signingDate: signedAt });
  return formatUrl(presigned).replace('https://', '');
}

describe('emulator fidelity: what the clouds refuse', () => {
  it('refuses an RDS IAM token older than 15 minutes whatever X-Amz-Expires says, with RDS’s PAM text', async () => {
    const emulator = await startEmulator({ cloud: 'aws', backend: 'pglite' });
    try {
      const user = emulator.env.PGUSER as string;
      const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
      // The same kind of token, signed a minute ago, is good: only its age differs below.
      const fresh = await tryLogin(
        gatewayClientConfig(emulator, user, await rdsToken(emulator, user, minutesAgo(1), 3600)),
      );
      assert.equal(fresh.error, undefined);
      await fresh.client?.end();

      const old = await rdsToken(emulator, user, minutesAgo(20), 3600);
      assert.match(old, /X-Amz-Expires=3600/);
      const { error } = await tryLogin(gatewayClientConfig(emulator, user, old));
      assert.equal(error?.message, `PAM authentication failed for user "${user}"`);
      assert.equal(error?.code, '28000');
    } finally {
      await emulator.stop();
    }
  });

  it('refuses an Azure token from another issuer with Azure’s validation text, and takes both forms of its own', async () => {
    const emulator = await startEmulator({ backend: 'pglite' });
    try {
      const otherTenant = '0c4a1b2d-3333-4000-8000-000000000abc';
      const foreign = await emulator.issueToken('orders-api', {
        issuer: `https://sts.windows.net/${otherTenant}/`,
      });
      const { error } = await tryLogin(gatewayClientConfig(emulator, 'orders-api', foreign));
      assert.match(error?.message ?? '', /^An error occurred while validating the access token\./);
      assert.equal(error?.code, '28000');

      for (const issuer of [
        `https://sts.windows.net/${EMULATOR_TENANT_ID}/`,
        `https://login.microsoftonline.com/${EMULATOR_TENANT_ID}/v2.0`,
      ]) {
        const own = await emulator.issueToken('orders-api', { issuer });
        const login = await tryLogin(gatewayClientConfig(emulator, 'orders-api', own));
        assert.equal(login.error, undefined, issuer);
        await login.client?.end();
      }
    } finally {
      await emulator.stop();
    }
  });
});
