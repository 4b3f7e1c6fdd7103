/**
 * The region in an RDS or Aurora endpoint name (instances, clusters, proxies):
 * `<name>.<id>.<region>.rds.amazonaws.com`, or `.rds.amazonaws.com.cn` in China.
 *
 * @example
 * regionOfRdsHost('orders.c9akciq32.eu-west-1.rds.amazonaws.com') // 'eu-west-1'
 */
export function regionOfRdsHost(host: string): string | undefined {
  return /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?$/i.exec(host)?.[1]?.toLowerCase();
}

/**
 * Splits `host[:port]`, for the endpoint to sign for (RDS Proxy, or the RDS name behind a custom DNS name).
 *
 * @example
 * parseSigningHost('orders.proxy-abc.us-east-1.rds.amazonaws.com:5432', 6432) // { host: 'orders.proxy-…', port: 5432 }
 */
export function parseSigningHost(value: string, defaultPort: number): { host: string; port: number } {
  const match = /^(.*?)(?::(\d+))?$/.exec(value.trim());
  return { host: match?.[1] ?? value, port: match?.[2] ? Number(match[2]) : defaultPort };
}
