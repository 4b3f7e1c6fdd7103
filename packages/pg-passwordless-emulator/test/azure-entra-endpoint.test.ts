// The Entra token endpoint the emulator serves for workload identity and service principals: what a
// client is given (variables, the token file, the certificate file), the OpenID metadata MSAL reads
// first, the client credentials grant with each kind of credential, the access tokens it issues (which
// the gateway takes), and Entra's refusals with their AADSTS shapes.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT } from 'jose';
import pg from 'pg';
import { type Emulator, parseEmulatorArgs, startEmulator } from '../src/index.ts';

const RESOURCE = 'https://ossrdbms-aad.database.windows.net';
const SCOPE = `${RESOURCE}/.default`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** An HTTPS request to the emulator's authority, trusting only its CA. */
function call(emulator: Emulator, path: string, form?: Record<string, string>): Promise<Answer> {
  const url = new URL(path, emulator.env.AZURE_AUTHORITY_HOST);
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: form ? 'POST' : 'GET',
        ca: readFileSync(emulator.caPath),
        headers: form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {},
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const tokenPath = (emulator: Emulator) => `/${emulator.env.AZURE_TENANT_ID}/oauth2/v2.0/token`;

/** The form of a client credentials request, with the client's own id and the database's scope. */
function grant(emulator: Emulator, credential: Record<string, string>): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: emulator.env.AZURE_CLIENT_ID as string,
    scope: SCOPE,
    ...credential,
  };
}

/** Asserts Entra's refusal shape: status, `error`, the AADSTS code in `error_codes` and at the head of the description. */
function assertRefusal(answer: Answer, status: number, error: string, code: number, text?: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error, error);
  assert.deepEqual(answer.body.error_codes, [code]);
  const description = answer.body.error_description as string;
  assert.ok(description.startsWith(`AADSTS${code}: `), description);
  assert.match(
    description,
    /\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
  );
  assert.equal(answer.body.error_uri, `https://login.microsoftonline.com/error?code=${code}`);
  if (text) assert.match(description, text);
}

/** The access token checked as the gateway checks it, and what it claims. */
async function verifiedClaims(emulator: Emulator, token: string) {
  const jwks = (await (await fetch(`${emulator.identityUrl}/.well-known/jwks.json`)).json()) as { keys: [] };
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: RESOURCE });
  return payload;
}

/** Logs in through the gateway with the token as the password; answers current_user. */
async function loginWith(emulator: Emulator, token: string): Promise<string> {
  const client = new pg.Client({
    host: emulator.gateway.host,
    port: emulator.gateway.port,
    database: emulator.backend.database,
    user: emulator.env.PGUSER,
    password: token,
    ssl: { ca: readFileSync(emulator.caPath) },
  });
  await client.connect();
  try {
    return (await client.query('select current_user as role')).rows[0].role as string;
  } finally {
    await client.end();
  }
}

describe('the Entra token endpoint, workload identity', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ azureCredential: 'workload-identity' });
  });
  after(() => emulator?.stop());

  it('gives the client what the AKS webhook gives a pod, and a projected token file', () => {
    const { env } = emulator;
    assert.match(env.AZURE_AUTHORITY_HOST as string, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(env.AZURE_TENANT_ID, '72f988bf-0000-4000-8000-00000000e1e1');
    assert.equal(env.AZURE_CLIENT_ID, emulator.identities()[0]?.clientId);
    assert.equal(emulator.identities()[0]?.kind, 'user');
    assert.equal(env.IDENTITY_ENDPOINT, undefined, 'no App Service endpoint on AKS');
    assert.equal(env.PGUSER, 'orders-api');
    const file = env.AZURE_FEDERATED_TOKEN_FILE as string;
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const claims = decodeJwt(readFileSync(file, 'utf8'));
    assert.deepEqual(claims.aud, ['api://AzureADTokenExchange']);
    assert.match(
      claims.iss as string,
      /^https:\/\/eastus\.oic\.prod-aks\.azure\.com\/72f988bf-[0-9a-f-]+\/[0-9a-f-]{36}\/$/,
    );
    assert.equal(claims.sub, 'system:serviceaccount:default:orders-api');
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);
  });

  it('serves the tenant metadata MSAL reads first, of its own origin; an unknown tenant is AADSTS90002', async () => {
    const tenant = emulator.env.AZURE_TENANT_ID;
    const metadata = await call(emulator, `/${tenant}/v2.0/.well-known/openid-configuration`);
    assert.equal(metadata.status, 200);
    const origin = emulator.env.AZURE_AUTHORITY_HOST;
    assert.equal(metadata.body.token_endpoint, `${origin}/${tenant}/oauth2/v2.0/token`);
    assert.equal(metadata.body.issuer, `${origin}/${tenant}/v2.0`);
    for (const field of ['authorization_endpoint', 'jwks_uri']) assert.ok(metadata.body[field], field);
    const other = randomUUID();
    assertRefusal(
      await call(emulator, `/${other}/v2.0/.well-known/openid-configuration`),
      400,
      'invalid_tenant',
      90002,
      new RegExp(`Tenant '${other}' not found`),
    );
    const token = await call(emulator, `/${other}/oauth2/v2.0/token`, grant(emulator, {}));
    assertRefusal(token, 400, 'invalid_request', 90002);
  });

  it('exchanges the projected token for the database token of the identity, which the gateway takes', async () => {
    const before = emulator.identityRequests().length;
    const assertion = readFileSync(emulator.env.AZURE_FEDERATED_TOKEN_FILE as string, 'utf8');
    const answer = await call(
      emulator,
      tokenPath(emulator),
      grant(emulator, { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(Object.keys(answer.body).sort(), [
      'access_token',
      'expires_in',
      'ext_expires_in',
      'token_type',
    ]);
    assert.equal(answer.body.token_type, 'Bearer');
    assert.equal(answer.body.expires_in, 3600);
    const claims = await verifiedClaims(emulator, answer.body.access_token as string);
    const identity = emulator.identities()[0];
    assert.equal(claims.iss, `https://sts.windows.net/${emulator.env.AZURE_TENANT_ID}/`);
    assert.equal(claims.oid, identity?.objectId);
    assert.equal(claims.appid, identity?.clientId);
    assert.equal(claims.idtyp, 'app');
    assert.equal(claims.xms_mirid, identity?.resourceId);
    assert.equal(await loginWith(emulator, answer.body.access_token as string), 'orders-api');
    const logged = emulator
      .identityRequests()
      .slice(before)
      .filter((entry) => entry.method === 'POST');
    assert.deepEqual(
      logged.map((entry) => `${entry.method} ${entry.path}`),
      [`POST ${tokenPath(emulator)}`],
    );
  });

  it('refuses federated tokens that are expired, for another audience, subject or issuer, or not the cluster’s', async () => {
    const exchange = async (assertion: string) =>
      call(
        emulator,
        tokenPath(emulator),
        grant(emulator, { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
      );
    const expired = await emulator.issueFederatedToken({ nowMs: Date.now() - 2 * 3_600_000 });
    assertRefusal(
      await exchange(expired),
      401,
      'invalid_client',
      700024,
      /Client assertion is not within its valid time range\. Current time: .*, expiry time of assertion /,
    );
    for (const made of [
      { audience: 'api://SomethingElse' },
      { subject: 'system:serviceaccount:other:orders-api' },
      { issuer: 'https://oidc.example.com/' },
    ]) {
      const answer = await exchange(await emulator.issueFederatedToken(made));
      assertRefusal(
        answer,
        401,
        'invalid_client',
        70021,
        /No matching federated identity record found for presented assertion\. Assertion Issuer: '.+'\. Assertion Subject: '.+'\. Assertion Audience: '.+'\./,
      );
      assert.ok((answer.body.error_description as string).includes(Object.values(made)[0] as string));
    }
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ aud: ['api://AzureADTokenExchange'] })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(decodeJwt(expired).iss as string)
      .setSubject('system:serviceaccount:default:orders-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    assertRefusal(await exchange(forged), 401, 'invalid_client', 700027, /signature validation/);
  });

  it('refuses an unknown client id, a request without a credential, another grant and a scope without /.default', async () => {
    const assertion = readFileSync(emulator.env.AZURE_FEDERATED_TOKEN_FILE as string, 'utf8');
    const federated = { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion };
    const unknown = randomUUID();
    const stranger = await call(emulator, tokenPath(emulator), {
      ...grant(emulator, federated),
      client_id: unknown,
    });
    assertRefusal(
      stranger,
      400,
      'unauthorized_client',
      700016,
      new RegExp(`Application with identifier '${unknown}' was not found in the directory`),
    );
    assertRefusal(
      await call(emulator, tokenPath(emulator), grant(emulator, {})),
      401,
      'invalid_client',
      7000216,
    );
    const password = await call(emulator, tokenPath(emulator), {
      ...grant(emulator, federated),
      grant_type: 'password',
    });
    assertRefusal(password, 400, 'unsupported_grant_type', 70003);
    const scope = await call(emulator, tokenPath(emulator), {
      ...grant(emulator, federated),
      scope: RESOURCE,
    });
    assertRefusal(scope, 400, 'invalid_scope', 70011);
  });
});

describe('the Entra token endpoint, a service principal', () => {
  let emulator: Emulator;
  let folder: string;
  before(async () => {
    emulator = await startEmulator({ azureCredential: 'service-principal' });
    folder = (emulator.env.AZURE_CLIENT_CERTIFICATE_PATH as string).replace(/\/[^/]+$/, '');
  });
  after(async () => {
    await emulator?.stop();
    assert.equal(existsSync(folder), false, 'stop removes the certificate file and its folder');
  });

  /** A certificate assertion as MSAL makes one, with what the test changes. */
  function certificateAssertion(
    change: {
      alg?: 'PS256' | 'RS256';
      thumbprint?: string;
      aud?: string;
      iss?: string;
      exp?: number;
      key?: ReturnType<typeof createPrivateKey>;
    } = {},
  ) {
    const pem = readFileSync(emulator.env.AZURE_CLIENT_CERTIFICATE_PATH as string, 'utf8');
    const raw = new X509Certificate(pem).raw;
    const alg = change.alg ?? 'PS256';
    const header =
      alg === 'PS256'
        ? {
            alg,
            typ: 'JWT',
            'x5t#S256': change.thumbprint ?? createHash('sha256').update(raw).digest('base64url'),
          }
        : { alg, typ: 'JWT', x5t: change.thumbprint ?? createHash('sha1').update(raw).digest('base64url') };
    const clientId = emulator.env.AZURE_CLIENT_ID as string;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: change.aud ?? `${emulator.env.AZURE_AUTHORITY_HOST}${tokenPath(emulator)}`,
      jti: randomUUID(),
    })
      .setProtectedHeader(header)
      .setIssuer(change.iss ?? clientId)
      .setSubject(change.iss ?? clientId)
      .setNotBefore(now)
      .setExpirationTime(change.exp ?? now + 600)
      .sign(change.key ?? createPrivateKey(pem));
  }

  it('gives the client a secret and a certificate file (PEM certificate and key), both for the same application', () => {
    const { env } = emulator;
    assert.match(env.AZURE_AUTHORITY_HOST as string, /^https:/);
    assert.equal(env.AZURE_CLIENT_SECRET?.length, 40);
    const file = env.AZURE_CLIENT_CERTIFICATE_PATH as string;
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const pem = readFileSync(file, 'utf8');
    assert.match(new X509Certificate(pem).subject, /CN=orders-api/);
    assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
    assert.equal(env.AZURE_FEDERATED_TOKEN_FILE, undefined);
    assert.deepEqual(emulator.identities(), [], 'no managed identity: the application is the principal');
  });

  it('issues the database token for the client secret: the application’s ids, no xms_mirid; the gateway takes it', async () => {
    const answer = await call(
      emulator,
      tokenPath(emulator),
      grant(emulator, { client_secret: emulator.env.AZURE_CLIENT_SECRET as string }),
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const claims = await verifiedClaims(emulator, answer.body.access_token as string);
    assert.equal(claims.appid, emulator.env.AZURE_CLIENT_ID);
    assert.equal(claims.idtyp, 'app');
    assert.equal('xms_mirid' in claims, false);
    assert.equal(await loginWith(emulator, answer.body.access_token as string), 'orders-api');
    const wrong = await call(
      emulator,
      tokenPath(emulator),
      grant(emulator, { client_secret: 'not-the-secret' }),
    );
    assertRefusal(wrong, 401, 'invalid_client', 7000215, /Invalid client secret provided/);
  });

  it('takes a certificate assertion named by x5t#S256 (PS256) or x5t (RS256)', async () => {
    for (const alg of ['PS256', 'RS256'] as const) {
      const answer = await call(
        emulator,
        tokenPath(emulator),
        grant(emulator, {
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await certificateAssertion({ alg }),
        }),
      );
      assert.equal(answer.status, 200, `${alg}: ${JSON.stringify(answer.body)}`);
    }
  });

  it('refuses an assertion of another certificate, a bad signature, another audience or issuer, an expired one', async () => {
    const send = async (assertion: string) =>
      call(
        emulator,
        tokenPath(emulator),
        grant(emulator, { client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
      );
    const other = createHash('sha256').update('another certificate').digest('base64url');
    assertRefusal(
      await send(await certificateAssertion({ thumbprint: other })),
      401,
      'invalid_client',
      700027,
      /is not registered on application/,
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assertRefusal(
      await send(await certificateAssertion({ key: privateKey })),
      401,
      'invalid_client',
      700027,
      /failed signature validation/,
    );
    assertRefusal(
      await send(
        await certificateAssertion({ aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' }),
      ),
      401,
      'invalid_client',
      50027,
    );
    assertRefusal(
      await send(await certificateAssertion({ iss: randomUUID() })),
      401,
      'invalid_client',
      50027,
    );
    assertRefusal(
      await send(await certificateAssertion({ exp: Math.floor(Date.now() / 1000) - 60 })),
      401,
      'invalid_client',
      700024,
    );
  });

  it('issues no federated tokens: it plays no cluster', async () => {
    await assert.rejects(emulator.issueFederatedToken(), { code: 'CONFIG_INVALID' });
  });
});

describe('--azure-credential', () => {
  it('sets the credential, and --identity names an identity of its kind', () => {
    const workload = parseEmulatorArgs(['--azure-credential', 'workload-identity'], {}).options;
    assert.equal(workload.azureCredential, 'workload-identity');
    assert.deepEqual(workload.identities, [{ name: 'orders-api', kind: 'user' }]);
    const principal = parseEmulatorArgs(
      ['--azure-credential', 'service-principal', '--identity', 'ci'],
      {},
    ).options;
    assert.deepEqual(principal.identities, [{ name: 'ci', kind: 'application' }]);
    assert.deepEqual(parseEmulatorArgs([], {}).options.identities, [{ name: 'orders-api', kind: 'system' }]);
    assert.throws(() => parseEmulatorArgs(['--azure-credential', 'password'], {}), {
      code: 'CONFIG_INVALID',
    });
  });

  it('workload identity needs a user-assigned identity to federate', async () => {
    await assert.rejects(
      startEmulator({
        backend: 'pglite',
        azureCredential: 'workload-identity',
        identities: [{ name: 'orders-api' }],
      }),
      {
        code: 'CONFIG_INVALID',
        message: /needs a user-assigned managed identity/,
      },
    );
  });
});
