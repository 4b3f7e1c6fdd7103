// The token source each plugin builds, over the real SDK of one cloud, configured from `env` as the
// emulator's client environment says. Shared by the reliability scenarios and bench/failing-fetch.ts.
import type { TokenSource } from '../../src/core/token-source.ts';
import { type RdsSignerModule, rdsTokenSource } from '../../src/plugins/aws/token-source.ts';
import {
  azureCredentialOptions,
  defaultCredentialSource,
} from '../../src/plugins/azure/default-credential.ts';
import { createAnswerRecorder } from '../../src/plugins/azure/endpoint-answers.ts';
import { azureTokenSource } from '../../src/plugins/azure/token-source.ts';
import { gcpTokenSource, SQLSERVICE_LOGIN_SCOPE } from '../../src/plugins/gcp/token-source.ts';

const AZURE_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/**
 * `azure` is DefaultAzureCredential as the plugin builds it (its HTTP client's answers recorded);
 * `azure-mi` ManagedIdentityCredential with the same options.
 */
export async function realTokenSource(
  cloud: 'azure' | 'azure-mi' | 'aws' | 'gcp',
  env: NodeJS.ProcessEnv,
): Promise<TokenSource> {
  if (cloud === 'azure') {
    return defaultCredentialSource(await import('@azure/identity'), { scope: AZURE_SCOPE, env });
  }
  if (cloud === 'azure-mi') {
    const { ManagedIdentityCredential } = await import('@azure/identity');
    const answers = createAnswerRecorder();
    const options = azureCredentialOptions({ env, httpClient: answers?.httpClient });
    const credential = new ManagedIdentityCredential(options as never);
    return azureTokenSource(credential, AZURE_SCOPE, cloud, { answers, env });
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
