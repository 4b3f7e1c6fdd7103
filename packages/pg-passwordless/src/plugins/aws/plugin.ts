import type { ConnectionParams, Plugin } from '../../core/contract.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { buildTlsOptions } from '../../core/tls.ts';
import { tokenHandle } from '../../core/token-cache.ts';
import { loadPeer } from '../load-peer.ts';
import { loadRdsCaBundle } from './rds-ca.ts';
import { parseSigningHost, regionOfRdsHost } from './region.ts';
import { resolveAwsSettings } from './settings.ts';
import { type RdsSignerModule, rdsTokenSource } from './token-source.ts';

/**
 * The `aws` plugin: IAM database authentication for Amazon RDS and Aurora PostgreSQL (and RDS Proxy).
 * Enabled by `PG_PASSWORDLESS_AWS_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ aws: { enabled: true } }`. Tokens are signed with `@aws-sdk/rds-signer` through the default
 * credential chain, cached and reused within their 15 minutes.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://app_user@orders.abc.us-east-1.rds.amazonaws.com/orders
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { aws: { enabled: true } });
 * console.log(params.user, typeof params.password); // app_user function
 */
export const awsPlugin: Plugin = {
  name: 'aws',
  async setDatabaseConnectionParams(_connectionUrl, settings, target): Promise<ConnectionParams> {
    const aws = resolveAwsSettings(settings);
    if (!aws.enabled) return {};
    if (!target.user) {
      throw new PasswordlessError(
        'USER_MISSING',
        'RDS IAM tokens are signed for a database user, and the connection URL names none.',
        {
          hint: 'Put the user in the URL (postgresql://app_user@host/db). Create it with: CREATE USER app_user; GRANT rds_iam TO app_user;',
        },
      );
    }
    const signerModule = await loadPeer<RdsSignerModule>('@aws-sdk/rds-signer', 'The aws plugin');
    const ssl = buildTlsOptions(target, settings.tls, settings.env, undefined, await loadRdsCaBundle());
    // RDS Proxy and custom DNS names: the token must be signed for the RDS endpoint itself.
    const signing = aws.signingHost
      ? parseSigningHost(aws.signingHost, target.port)
      : { host: target.host, port: target.port };
    const region = aws.region ?? regionOfRdsHost(signing.host);
    const rdsTarget = { hostname: signing.host, port: signing.port, username: target.user, region };
    const key =
      aws.credentials ?? `aws|${rdsTarget.username}@${rdsTarget.hostname}:${rdsTarget.port}|${region ?? ''}`;
    const cache = settings.caches.getOrCreate(key, () => ({
      source: rdsTokenSource(signerModule, rdsTarget, aws.credentials),
      ...settings.tokenCache,
    }));
    return { user: target.user, ssl, token: tokenHandle(cache) };
  },
};
