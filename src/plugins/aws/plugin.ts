import { parseConnectionUrl } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';
import type { ConnectionParams, Plugin } from '../../core/plugin.ts';
import type { ResolvedSettings } from '../../core/settings.ts';
import { buildTlsOptions } from '../../core/tls.ts';
import { parseSigningHost, regionOfRdsHost } from './region.ts';
import { type RdsSignerModule, rdsTokenSource } from './token-source.ts';
import { connectionParamsFromCache } from '../connection-params.ts';
import { loadPeer } from '../load-peer.ts';
import { loadRdsCaBundle } from './rds-ca.ts';

/**
 * The `aws` plugin: IAM database authentication for Amazon RDS and Aurora PostgreSQL (and RDS Proxy).
 * Enabled by `PG_PASSWORDLESS_AWS_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ aws: { enabled: true } }`. Tokens are signed with `@aws-sdk/rds-signer` through the default
 * credential chain, cached and reused within their 15 minutes.
 *
 * @example
 * const params = await setDatabaseConnectionParams('postgresql://app_user@orders.abc.us-east-1.rds.amazonaws.com/orders', {
 *   aws: { enabled: true },
 * });
 */
export const awsPlugin: Plugin = {
  name: 'aws',
  async setDatabaseConnectionParams(
    connectionUrl: string,
    settings: ResolvedSettings,
  ): Promise<ConnectionParams> {
    if (!settings.aws.enabled) return {};
    const target = parseConnectionUrl(connectionUrl, settings.env);
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
    const signing = settings.aws.signingHost
      ? parseSigningHost(settings.aws.signingHost, target.port)
      : { host: target.host, port: target.port };
    const region = settings.aws.region ?? regionOfRdsHost(signing.host);
    const rdsTarget = { hostname: signing.host, port: signing.port, username: target.user, region };
    const key =
      settings.aws.credentials ??
      `aws|${rdsTarget.username}@${rdsTarget.hostname}:${rdsTarget.port}|${region ?? ''}`;
    const cache = settings.caches.getOrCreate(key, () => ({
      source: rdsTokenSource(signerModule, rdsTarget, settings.aws.credentials),
      ...settings.tokenCache,
    }));
    return { user: target.user, ssl, ...connectionParamsFromCache(cache) };
  },
};
