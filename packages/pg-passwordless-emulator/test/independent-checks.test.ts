// The emulator checks the library; it does not agree with it. Its facts are its own tables, written from
// each cloud's documentation: here the real library (createPool, the real SDKs) is pointed at a
// deliberately wrong value, an audience, a region, a signing host, a user form, a scope, such as a wrong
// constant in the library would give, and the emulator refuses it with the cloud's own words. Each
// expected text is written out here from the cloud's documentation or its users' reports, not taken
// from either package. A first login with the library's defaults shows that only the wrong value differs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { runScript } from '../../pg-passwordless/test/helpers/run-scenario.ts';
import { ACCEPTED_AUDIENCES, ENTRA_ISSUER_HOSTS } from '../src/clouds/azure-facts.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../src/index.ts';

const LIBRARY_LOGIN = fileURLToPath(new URL('./fixtures/library-login.ts', import.meta.url));

/** The Entra resources of Azure Database for PostgreSQL, per cloud (azure-cli's ossrdbms_resource_id). */
const PUBLIC_RESOURCE = 'https://ossrdbms-aad.database.windows.net';
const USGOV_RESOURCE = 'https://ossrdbms-aad.database.usgovcloudapi.net';
const CHINA_RESOURCE = 'https://ossrdbms-aad.database.chinacloudapi.cn';

/** Azure's refusal of a token for another resource (microsoft/azuredatastudio-postgresql#505). */
const wrongAudience = (resource: string) =>
  `The access token does not have a valid audience claim. Please acquire a new token for the resource "${resource}".`;
/** RDS's one refusal of an IAM token, whatever was wrong (warp-tech/warpgate#1906). */
const pamFailed = (user: string) => `PAM authentication failed for user "${user}"`;
/** Cloud SQL's refusal of a service account's IAM login (cloud-sql-jdbc-socket-factory#727). */
const cloudSqlFailed = (user: string) =>
  `Cloud SQL IAM service account authentication failed for user "${user}"`;

interface LoginOutcome {
  role?: string;
  code?: string;
  sqlState?: string;
  serverMessage?: string;
}

/** One login of the real library, in its own process, against the emulator. */
async function libraryLogin(
  emulator: Emulator,
  extraEnv: Record<string, string> = {},
): Promise<LoginOutcome> {
  const result = await runScript(LIBRARY_LOGIN, [], { ...emulator.env, ...extraEnv });
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  return result.output as LoginOutcome;
}

const withSettings = (settings: object) => ({ LIBRARY_SETTINGS: JSON.stringify(settings) });

/** A running emulator for the tests of one describe block. */
function emulatorFor(options: EmulatorOptions): () => Emulator {
  let emulator: Emulator | undefined;
  before(async () => {
    emulator = await startEmulator({ backend: 'pglite', ...options });
  });
  after(() => emulator?.stop());
  return () => emulator as Emulator;
}

describe('Azure: the audience is the emulator’s own', () => {
  const emulator = emulatorFor({});

  it('the library’s defaults log in: a token for the public cloud’s resource', async () => {
    assert.deepEqual(await libraryLogin(emulator()), { role: 'orders-api' });
  });

  for (const [wrong, settings] of [
    ['another cloud (usgov)', { azure: { cloud: 'usgov' } }],
    ['another cloud’s scope (china)', { azure: { scope: `${CHINA_RESOURCE}/.default` } }],
    ['a misspelt resource', { azure: { scope: 'https://ossrdbms-aad.database.windows.com/.default' } }],
  ] as const) {
    it(`a token for ${wrong} is refused with Azure’s audience text`, async () => {
      const outcome = await libraryLogin(emulator(), withSettings(settings));
      assert.equal(outcome.code, 'TOKEN_REJECTED');
      assert.equal(outcome.sqlState, '28000');
      assert.equal(outcome.serverMessage, wrongAudience(PUBLIC_RESOURCE));
    });
  }

  it('accepts its own cloud’s resource only, naming it in the refusal', async () => {
    for (const resource of [PUBLIC_RESOURCE, USGOV_RESOURCE, CHINA_RESOURCE]) {
      const token = await emulator().issueToken('orders-api', { resource });
      const login = await tryLogin(gatewayClientConfig(emulator(), 'orders-api', token));
      await login.client?.end();
      assert.equal(
        login.error?.message,
        resource === PUBLIC_RESOURCE ? undefined : wrongAudience(PUBLIC_RESOURCE),
      );
    }
  });
});

describe('Azure: a sovereign cloud’s emulator checks its table’s audience, not the library’s default', () => {
  const emulator = emulatorFor({ azureCloud: 'usgov' });

  it('the library’s default (the public cloud, for a host it does not know) is refused, naming usgov’s resource', async () => {
    const outcome = await libraryLogin(emulator());
    assert.equal(outcome.code, 'TOKEN_REJECTED');
    assert.equal(outcome.serverMessage, wrongAudience(USGOV_RESOURCE));
  });

  it('the library told the cloud logs in', async () => {
    assert.deepEqual(await libraryLogin(emulator(), withSettings({ azure: { cloud: 'usgov' } })), {
      role: 'orders-api',
    });
  });
});

describe('the emulator’s Azure tables hold what Microsoft documents', () => {
  it('audiences per sovereign cloud (azure-cli ossrdbms_resource_id; security-entra-configure)', () => {
    assert.deepEqual(ACCEPTED_AUDIENCES, {
      public: PUBLIC_RESOURCE,
      usgov: USGOV_RESOURCE,
      china: CHINA_RESOURCE,
    });
  });

  it('issuer hosts per cloud: v1 STS and v2 authority (access-token-claims-reference; national clouds)', () => {
    assert.deepEqual(ENTRA_ISSUER_HOSTS, {
      public: { v1: 'sts.windows.net', v2: 'login.microsoftonline.com' },
      usgov: { v1: 'login.microsoftonline.us', v2: 'login.microsoftonline.us' },
      china: { v1: 'sts.chinacloudapi.cn', v2: 'login.chinacloudapi.cn' },
    });
  });
});

describe('AWS: RDS IAM tokens are checked for the emulator’s region and endpoint', () => {
  const emulator = emulatorFor({ cloud: 'aws' });

  it('the library’s defaults log in: signed for us-east-1 and the gateway’s host:port', async () => {
    assert.deepEqual(await libraryLogin(emulator()), { role: 'app_user' });
  });

  for (const [wrong, settings] of [
    ['another region', { aws: { region: 'eu-west-1' } }],
    ['another endpoint', { aws: { signingHost: 'orders.abc123.us-east-1.rds.amazonaws.com:5432' } }],
  ] as const) {
    it(`a token signed for ${wrong} is refused with RDS’s PAM text`, async () => {
      const outcome = await libraryLogin(emulator(), withSettings(settings));
      assert.equal(outcome.code, 'TOKEN_REJECTED');
      assert.equal(outcome.sqlState, '28000');
      assert.equal(outcome.serverMessage, pamFailed('app_user'));
    });
  }
});

describe('GCP: Cloud SQL’s user naming and login scope are the emulator’s own', () => {
  const emulator = emulatorFor({ cloud: 'gcp' });
  const serviceAccount = 'orders@pg-passwordless-emulator.iam.gserviceaccount.com';

  it('the library’s defaults log in as the service account’s email without .gserviceaccount.com', async () => {
    assert.deepEqual(await libraryLogin(emulator()), { role: 'orders@pg-passwordless-emulator.iam' });
  });

  it('the full email as the user is refused with Cloud SQL’s IAM text', async () => {
    const outcome = await libraryLogin(emulator(), { LIBRARY_USER: serviceAccount });
    assert.equal(outcome.code, 'TOKEN_REJECTED');
    assert.equal(outcome.sqlState, '28000');
    assert.equal(outcome.serverMessage, cloudSqlFailed(serviceAccount));
  });

  it('a token without the sqlservice.login scope is refused with Cloud SQL’s IAM text', async () => {
    const outcome = await libraryLogin(emulator(), {
      LIBRARY_GCP_SCOPES: 'https://www.googleapis.com/auth/cloud-platform',
    });
    assert.equal(outcome.code, 'TOKEN_REJECTED');
    assert.equal(outcome.serverMessage, cloudSqlFailed('orders@pg-passwordless-emulator.iam'));
  });
});
