// The emulator's Google OAuth endpoints, spoken to directly as the protocol has it (a client of our own,
// not an SDK, so that each check can be made to fail): the token endpoint of a key file (at its
// token_uri, and through the oauth2.googleapis.com tunnel), the STS token exchange and IAM Credentials'
// generateAccessToken, with Google's words for each refusal; and the flags that choose them.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { decodeJwt, importPKCS8, type JWTPayload, SignJWT } from 'jose';
import pg from 'pg';
import { parseEmulatorArgs } from '../src/cli.ts';
import { EMULATOR_HELP, type Emulator, startEmulator } from '../src/index.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs to an HTTPS URL of the emulator, trusting its CA. */
function post(url: string, body: string, ca: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * `CONNECT target` at the emulator's identity port, as a client behind HTTPS_PROXY sends it: the answer's
 * head (status line and headers), anything after it, and the socket, tunnelled when the answer is 200.
 */
function tunnel(proxyUrl: string, target: string): Promise<{ head: string; rest: string; socket: Socket }> {
  const { hostname, port } = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(port), hostname, () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0 || (!text.startsWith('HTTP/1.1 200') && !socket.readableEnded)) return;
      socket.off('data', onData);
      resolve({ head: text.slice(0, end), rest: text.slice(end + 4), socket });
    };
    socket.on('data', onData);
    socket.on('end', () => {
      const end = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, end), rest: text.slice(end + 4), socket });
    });
    socket.on('error', reject);
  });
}

/** POSTs to https://oauth2.googleapis.com/token through the tunnel, as gaxios does behind HTTPS_PROXY. */
async function postThroughTunnel(emulator: Emulator, body: string, ca: Buffer): Promise<Answer> {
  const { head, socket } = await tunnel(emulator.identityUrl, 'oauth2.googleapis.com:443');
  assert.match(head, /^HTTP\/1\.1 200 /);
  const secure = connect({ socket, servername: 'oauth2.googleapis.com', ca });
  await once(secure, 'secureConnect');
  secure.write(
    // HTTP/1.0, so that the answer comes unchunked and ends with the connection.
    'POST /token HTTP/1.0\r\nHost: oauth2.googleapis.com\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  let text = '';
  for await (const chunk of secure) text += chunk;
  const status = Number(/^HTTP\/1\.[01] (\d+)/.exec(text)?.[1]);
  return { status, body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown> };
}

describe('emulator: the token endpoint of a service-account key file', () => {
  let emulator: Emulator;
  let ca: Buffer;
  let key: { client_email: string; private_key: string; token_uri: string };

  before(async () => {
    emulator = await startEmulator({ cloud: 'gcp', gcpCredential: 'key-file' });
    ca = readFileSync(emulator.caPath);
    key = JSON.parse(readFileSync(emulator.gcp?.credentialFile() as string, 'utf8')) as typeof key;
  });
  after(() => emulator?.stop());

  /** An assertion as Google's docs form it, signed with the file's key unless told otherwise. */
  async function assertion(claims: JWTPayload = {}, privateKeyPem = key.private_key): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: key.client_email,
      scope: LOGIN_SCOPE,
      aud: key.token_uri,
      iat: now,
      exp: now + 3600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(await importPKCS8(privateKeyPem, 'RS256'));
  }
  const form = async (claims?: JWTPayload, privateKeyPem?: string) =>
    new URLSearchParams({
      grant_type: JWT_BEARER,
      assertion: await assertion(claims, privateKeyPem),
    }).toString();
  const refusal = (answer: Answer) =>
    `${answer.status} ${answer.body.error}: ${answer.body.error_description}`;

  it('at token_uri: an access token for the key’s account, which logs in as its IAM user', async () => {
    const answer = await post(key.token_uri, await form(), ca);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(Object.keys(answer.body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.match(answer.body.access_token as string, /^ya29\./);
    assert.equal(answer.body.expires_in, 3600);
    const client = new pg.Client({
      host: emulator.gateway.host,
      port: emulator.gateway.port,
      database: emulator.backend.database,
      user: emulator.env.PGUSER,
      password: answer.body.access_token as string,
      ssl: { ca },
    });
    await client.connect();
    const { rows } = await client.query('select current_user as role');
    await client.end();
    assert.equal(rows[0]?.role, 'orders@pg-passwordless-emulator.iam');
  });

  it('through the tunnel, as oauth2.googleapis.com: the audience is Google’s own URL there', async () => {
    const google = await postThroughTunnel(
      emulator,
      await form({ aud: 'https://oauth2.googleapis.com/token' }),
      ca,
    );
    assert.equal(google.status, 200, JSON.stringify(google.body));
    const elsewhere = await postThroughTunnel(emulator, await form(), ca);
    assert.equal(refusal(elsewhere), '400 invalid_grant: Invalid JWT: Failed audience check.');
  });

  it('tunnels nothing but oauth2.googleapis.com:443', async () => {
    for (const target of ['example.com:443', 'oauth2.googleapis.com:80', 'sts.googleapis.com:443']) {
      const { head, rest, socket } = await tunnel(emulator.identityUrl, target);
      socket.destroy();
      assert.match(head, /^HTTP\/1\.1 403 /, target);
      assert.match(rest, /tunnels only to oauth2\.googleapis\.com:443, not /, target);
    }
  });

  it('refuses with Google’s words: audience, account, signature, timeframe, scope, grant', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      [
        await form({ aud: 'https://oauth2.googleapis.com/token' }),
        '400 invalid_grant: Invalid JWT: Failed audience check.',
      ],
      [
        await form({ iss: 'nobody@shop.iam.gserviceaccount.com' }),
        '400 invalid_grant: Invalid grant: account not found',
      ],
      [await form({}, other), '400 invalid_grant: Invalid JWT Signature.'],
      [
        await form({ iat: now - 7200, exp: now - 3600 }),
        /^400 invalid_grant: Invalid JWT: Token must be a short-lived token \(60 minutes\)/.source,
      ],
      [
        await form({ exp: now + 7200 }),
        /^400 invalid_grant: Invalid JWT: Token must be a short-lived token/.source,
      ],
      [
        await form({ iat: now + 600, exp: now + 1200 }),
        /^400 invalid_grant: Invalid JWT: Token must be a short-lived token/.source,
      ],
      [await form({ scope: '' }), '400 invalid_scope: Empty or missing scope not allowed.'],
      [
        await form({ scope: 'email' }),
        '400 invalid_scope: Invalid OAuth scope or ID token audience provided.',
      ],
      ['grant_type=client_credentials', '400 unsupported_grant_type: Invalid grant_type: client_credentials'],
      [
        `grant_type=${encodeURIComponent(JWT_BEARER)}&assertion=not-a-jwt`,
        '400 invalid_grant: Invalid JWT Signature.',
      ],
    ];
    for (const [body, expected] of cases) {
      const answer = refusal(await post(key.token_uri, body, ca));
      if (expected.startsWith('^')) assert.match(answer, new RegExp(expected));
      else assert.equal(answer, expected);
    }
  });

  it('a deleted key signs nothing any more', async () => {
    const body = await form();
    emulator.gcp?.deleteKey();
    assert.equal(refusal(await post(key.token_uri, body, ca)), '400 invalid_grant: Invalid JWT Signature.');
  });

  it('answers over HTTPS only', async () => {
    const path = new URL(key.token_uri).pathname;
    const plain = await fetch(`${emulator.identityUrl}${path}`, { method: 'POST', body: await form() });
    assert.equal(plain.status, 404, 'the plain listener serves no token endpoint');
  });
});

describe('emulator: workload identity federation (STS and generateAccessToken)', () => {
  let emulator: Emulator;
  let ca: Buffer;
  let file: { audience: string; token_url: string; service_account_impersonation_url: string };
  const subjectToken = () => readFileSync(emulator.gcp?.subjectTokenFile() as string, 'utf8');
  const exchange = (fields: Record<string, string> = {}) =>
    post(
      file.token_url,
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: subjectToken(),
        audience: file.audience,
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        ...fields,
      }).toString(),
      ca,
    );
  const impersonate = (
    bearer: string,
    body: object = { scope: [LOGIN_SCOPE], lifetime: '3600s' },
    url = file.service_account_impersonation_url,
  ) =>
    post(url, JSON.stringify(body), ca, {
      'content-type': 'application/json',
      authorization: `Bearer ${bearer}`,
    });

  before(async () => {
    emulator = await startEmulator({ cloud: 'gcp', gcpCredential: 'external-account', backend: 'pglite' });
    ca = readFileSync(emulator.caPath);
    file = JSON.parse(readFileSync(emulator.gcp?.credentialFile() as string, 'utf8')) as typeof file;
  });
  after(() => emulator?.stop());

  it('the subject token is an OIDC token of the provider’s issuer, for the provider’s default audience', () => {
    const claims = decodeJwt(subjectToken());
    assert.equal(claims.aud, `https:${file.audience}`);
    assert.equal(claims.sub, 'system:serviceaccount:default:orders');
    assert.equal(typeof claims.exp, 'number');
  });

  it('exchanges it for a federated token, which logs in to no database', async () => {
    const answer = await exchange();
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(answer.body.token_type, 'Bearer');
    const client = new pg.Client({
      host: emulator.gateway.host,
      port: emulator.gateway.port,
      database: emulator.backend.database,
      user: emulator.env.PGUSER,
      password: answer.body.access_token as string,
      ssl: { ca },
    });
    client.on('error', () => {});
    await assert.rejects(
      client.connect(),
      /Cloud SQL IAM service account authentication failed for user "orders@pg-passwordless-emulator\.iam"/,
    );
  });

  it('refuses an exchange with STS’s words: audience form, unknown provider, foreign audience, expiry, issuer', async () => {
    const words = async (answer: Promise<Answer>) => {
      const { status, body } = await answer;
      return `${status} ${body.error}: ${body.error_description}`;
    };
    assert.match(
      await words(exchange({ audience: 'projects/1/providers/x' })),
      /^400 invalid_request: Invalid value for "audience"\. This value should be the full resource name/,
    );
    assert.match(
      await words(exchange({ audience: file.audience.replace(/providers\/[^/]+$/, 'providers/deleted') })),
      /^400 invalid_target: The target service indicated by the "audience" parameters is invalid\./,
    );
    const other = new SignJWT({
      iss: 'https://kubernetes.default.svc.cluster.local',
      aud: `https:${file.audience}`,
      exp: Math.floor(Date.now() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    assert.match(
      await words(exchange({ subject_token: await other })),
      /^400 invalid_grant: The subject token is not signed by the provider’s issuer/,
    );
    await emulator.gcp?.writeSubjectToken({ audience: 'https://ci.example.com' });
    assert.equal(
      await words(exchange()),
      '400 invalid_grant: The audience in ID Token [https://ci.example.com] does not match the expected audience.',
    );
    await emulator.gcp?.writeSubjectToken({ lifetimeSeconds: -1 });
    assert.match(
      await words(exchange()),
      /^400 invalid_grant: ID Token issued at \d+ is stale to sign-in\.$/,
    );
    await emulator.gcp?.writeSubjectToken();
    assert.match(
      await words(exchange({ grant_type: JWT_BEARER })),
      /^400 invalid_request: grant_type must be urn:ietf:params:oauth:grant-type:token-exchange/,
    );
  });

  it('generateAccessToken: the account’s token for the federated principal, else 401 or 403 as Google answers', async () => {
    const federated = (await exchange()).body.access_token as string;
    const answer = await impersonate(federated);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.match(answer.body.accessToken as string, /^ya29\./);
    assert.ok(Date.parse(answer.body.expireTime as string) > Date.now());

    const status = (result: Answer) => `${result.status} ${(result.body.error as { status: string }).status}`;
    assert.equal(status(await impersonate('ya29.forged')), '401 UNAUTHENTICATED');
    const otherAccount = file.service_account_impersonation_url.replace('orders@', 'billing@');
    assert.equal(status(await impersonate(federated, undefined, otherAccount)), '403 PERMISSION_DENIED');
    assert.equal(
      status(await impersonate(federated, { scope: [LOGIN_SCOPE], lifetime: '7200s' })),
      '400 INVALID_ARGUMENT',
    );
    emulator.gcp?.allowImpersonation(false);
    try {
      const denied = await impersonate(federated);
      assert.equal(
        (denied.body.error as { message: string }).message,
        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
      );
    } finally {
      emulator.gcp?.allowImpersonation(true);
    }
  });
});

describe('emulator: the gcp flags', () => {
  it('--gcp-credential and --service choose the credential and the database', () => {
    const { options } = parseEmulatorArgs(
      ['--cloud', 'gcp', '--gcp-credential', 'external-account', '--service', 'alloydb'],
      {},
    );
    assert.equal(options.gcpCredential, 'external-account');
    assert.equal(options.gcpService, 'alloydb');
    assert.throws(() => parseEmulatorArgs(['--cloud', 'gcp', '--gcp-credential', 'json'], {}), {
      code: 'CONFIG_INVALID',
      message: /--gcp-credential must be one of metadata, key-file, external-account, not "json"/,
    });
    assert.throws(() => parseEmulatorArgs(['--cloud', 'gcp', '--service', 'spanner'], {}), {
      code: 'CONFIG_INVALID',
      message: /--service must be one of cloudsql, alloydb, not "spanner"/,
    });
    assert.match(EMULATOR_HELP, /--gcp-credential metadata\|key-file\|external-account/);
    assert.match(EMULATOR_HELP, /--service cloudsql\|alloydb/);
  });

  it('startEmulator refuses a credential or service it does not play, before anything starts', async () => {
    await assert.rejects(startEmulator({ cloud: 'gcp', backend: 'pglite', gcpCredential: 'json' as never }), {
      code: 'CONFIG_INVALID',
      message: /gcpCredential must be one of metadata, key-file, external-account, not "json"/,
    });
    await assert.rejects(startEmulator({ cloud: 'gcp', backend: 'pglite', gcpService: 'spanner' as never }), {
      code: 'CONFIG_INVALID',
    });
  });
});
