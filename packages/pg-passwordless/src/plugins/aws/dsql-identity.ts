import type { CloudIdentity, CloudRequest } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { regionOfDsqlHost } from './dsql-endpoint.ts';
import { type DsqlSignerModule, dsqlAction, dsqlTokenSource } from './dsql-token-source.ts';
import type { AwsSettings } from './options.ts';
import { parseSigningHost } from './region.ts';

/**
 * Aurora DSQL ends every connection after 60 minutes ("Maximum connection duration: 60 minutes", "Cluster
 * quotas and database limits in Amazon Aurora DSQL", docs.aws.amazon.com/aurora-dsql/latest/userguide/CHAP_quotas.html).
 */
export const DSQL_SESSION_CAP_SECONDS = 60 * 60;

/**
 * What the aws cloud says about an Aurora DSQL target: tokens from `@aws-sdk/dsql-signer` for the cluster
 * endpoint (`DbConnectAdmin` for `admin`, `DbConnect` for any other role), the region from the endpoint
 * name, Node's own roots for TLS (DSQL's certificates chain to Amazon Root CA 1, which Node ships, so no
 * private CA is needed), and the 60-minute session cap that pool lifetimes stay under.
 *
 * @example
 * const identity = await identifyDsql({
 *   target: { host: 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws', port: 5432, user: 'admin', database: 'postgres', params: {} },
 *   options: {},
 *   env: {},
 *   logger: console,
 * });
 * console.log(identity.facts?.action, identity.facts?.region, identity.sessionCapSeconds); // DbConnectAdmin eu-west-1 3600
 */
export async function identifyDsql({
  target,
  options,
  env,
}: CloudRequest<AwsSettings>): Promise<CloudIdentity> {
  if (!target.user) {
    throw new PasswordlessError(
      'USER_MISSING',
      'Aurora DSQL logs in as a database role, and the connection URL names none.',
      {
        hint: "Put the role in the URL: admin (postgresql://admin@<cluster id>.dsql.<region>.on.aws/postgres), or a role of your own: CREATE ROLE orders_app WITH LOGIN; AWS IAM GRANT orders_app TO '<IAM role ARN>';",
      },
    );
  }
  const signerModule = await loadPeer<DsqlSignerModule>(
    '@aws-sdk/dsql-signer',
    'The aws plugin (Aurora DSQL)',
  );
  // A custom DNS name or a PrivateLink endpoint: the token is signed for the cluster endpoint itself.
  const hostname = options.signingHost
    ? parseSigningHost(options.signingHost, target.port).host
    : target.host;
  const region = options.region ?? regionOfDsqlHost(hostname);
  const dsqlTarget = { hostname, username: target.user, region };
  const { credentials } = options;
  return {
    cacheKey: `dsql|${dsqlTarget.username}@${hostname}|${region ?? ''}`,
    credential: credentials,
    createSource: () => dsqlTokenSource(signerModule, dsqlTarget, credentials),
    sessionCapSeconds: DSQL_SESSION_CAP_SECONDS,
    facts: {
      service: 'Aurora DSQL',
      endpoint: hostname,
      action: dsqlAction(target.user),
      region: region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '(the SDK default)',
    },
  };
}
