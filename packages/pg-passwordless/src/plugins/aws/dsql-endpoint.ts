/**
 * The region in an Aurora DSQL cluster endpoint, `<cluster id>.dsql.<region>.on.aws` ("Amazon Aurora DSQL
 * connections: drivers, strings, and best practices", AWS Database Blog: the endpoint format). AWS's own
 * connectors read it with the same pattern, `\.dsql[^.]*\.([^.]+)\.on\.aws$`, which also takes the
 * suffixed forms of the `dsql` label (awslabs/aurora-dsql-connectors, node/node-postgres/src/aurora-dsql-util.ts).
 *
 * @example
 * console.log(regionOfDsqlHost('abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws')); // eu-west-1
 * console.log(regionOfDsqlHost('orders.c9akciq32.eu-west-1.rds.amazonaws.com')); // undefined
 */
export function regionOfDsqlHost(host: string): string | undefined {
  return /\.dsql[^.]*\.([a-z0-9-]+)\.on\.aws\.?$/i.exec(host)?.[1]?.toLowerCase();
}

/**
 * Whether a host is an Aurora DSQL cluster endpoint, which chooses the `dsql` service when none is named.
 *
 * @example
 * console.log(isDsqlHost('abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws')); // true
 * console.log(isDsqlHost('127.0.0.1')); // false
 */
export function isDsqlHost(host: string): boolean {
  return regionOfDsqlHost(host) !== undefined;
}
