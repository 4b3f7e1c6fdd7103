// The token source each plugin builds, over the real SDK of one cloud, configured from `env` as the
// emulator's client environment says. Shared by the reliability scenarios and bench/failing-fetch.ts.
import type { TokenSource } from '../../src/core/token-source.ts';
import { type RdsSignerModule, rdsTokenSource } from '../../src/plugins/aws/token-source.ts';
import { azureCredentialOptions, azureTokenSource } from '../../src/plugins/azure/token-source.ts';
import { gcpTokenSource, SQLSERVICE_LOGIN_SCOPE } from '../../src/plugins/gcp/token-source.ts';

const AZURE_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** `azure` uses DefaultAzureCredential; `azure-mi` ManagedIdentityCredential, both as the plugin builds them. */
export async function realTokenSource(
  cloud: 'azure' | 'azure-mi' | 'aws' | 'gcp',
  env: NodeJS.ProcessEnv,
): Promise<TokenSource> {
  if (cloud === 'azure' || cloud === 'azure-mi') {
    const identity = await import('@azure/identity');
    const options = azureCredentialOptions();
    const credential =
      cloud === 'azure'
        ? new identity.DefaultAzureCredential(options)
        : new identity.ManagedIdentityCredential(options);
    return azureTokenSource(credential, AZURE_SCOPE, cloud);
  }
  if (cloud === 'aws') {
    const signer = (await import('@aws-sdk/rds-signer')) as unknown as RdsSignerModule;
    return rdsTokenSource(signer, {
      hostname: env.PGHOST as string,
      port: Number(env.PGPORT),
      username: env.PGUSER as string,
      region: env.AWS_REGION,
    });
  }
  const { GoogleAuth } = await import('google-auth-library');
  return gcpTokenSource(new GoogleAuth({ scopes: [SQLSERVICE_LOGIN_SCOPE] }));
}
