// The Azure token source's own policy, step by step on a clock the test moves: Retry-After read from
// the answers the HTTP client recorded and honoured across fetches, exponential backoff on a 429 whose
// header cannot be seen, a fresh credential after a 429 or 5xx (MSAL's own 60 s throttle), hints by
// AADSTS code and by unreadable file; the recorder itself with the SDK's own HTTP client against a local
// server; the doctor's reading of the token and certificate files. The real SDK in a real storm is
// test/reliability/azure-retry-after.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createApplicationCredentials } from '../../../pg-passwordless-emulator/src/clouds/azure-client-credentials.ts';
import { PasswordlessError } from '../../src/core/errors.ts';
import { classifyFailure } from '../../src/core/failure.ts';
import { describeAzureCredential } from '../../src/plugins/azure/credential-chain.ts';
import { readCertificateFile, readFederatedTokenFile } from '../../src/plugins/azure/credential-files.ts';
import {
  azureCredentialOptions,
  describeDefaultCredential,
} from '../../src/plugins/azure/default-credential.ts';
import {
  type AnswerRecorder,
  createAnswerRecorder,
  type EndpointAnswer,
} from '../../src/plugins/azure/endpoint-answers.ts';
import { diagnoseEntraFailure } from '../../src/plugins/azure/entra-hints.ts';
import type { TokenCredentialLike } from '../../src/plugins/azure/options.ts';
import { azureTokenSource } from '../../src/plugins/azure/token-source.ts';

const SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** A credential that answers as scripted: a token, or an error (as MSAL's, with a status when given). */
function scriptedCredential(script: Array<number | 'token' | Error>) {
  let calls = 0;
  const credential: TokenCredentialLike = {
    async getToken() {
      const next = script[calls++] ?? 'token';
      if (next === 'token') return { token: `t${calls}`, expiresOnTimestamp: Date.now() + 3_600_000 };
      if (next instanceof Error) throw next;
      throw Object.assign(new Error(`server answered ${next}`), { name: 'ServerError', status: next });
    },
  };
  return { credential, calls: () => calls };
}

/** What the HTTP client would have recorded: the answers are set by the test before each fetch. */
function recorderOf(answers: Array<EndpointAnswer | undefined>): AnswerRecorder {
  let index = -1;
  return {
    httpClient: { sendRequest: () => Promise.reject(new Error('not used')) },
    reset: () => {
      index++;
    },
    lastFailure: () => answers[index],
  };
}

async function failureOf(fetch: Promise<unknown>): Promise<PasswordlessError> {
  try {
    await fetch;
  } catch (error) {
    assert.ok(error instanceof PasswordlessError, String(error));
    return error;
  }
  assert.fail('the fetch succeeded');
}

describe('azureTokenSource: Retry-After and backoff', () => {
  it('reads Retry-After from the recorded answer, and asks nothing until it has passed', async () => {
    let now = 1_000_000;
    const { credential, calls } = scriptedCredential([429, 'token']);
    const answers = recorderOf([{ status: 429, headers: { 'retry-after': '3' }, errorCodes: [] }]);
    const source = azureTokenSource(credential, SCOPE, 'test', { answers, now: () => now });
    const throttled = await failureOf(source.fetchToken());
    assert.equal(throttled.code, 'TOKEN_ENDPOINT_FAILED');
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.retryAfterMs, 3000);
    assert.match(throttled.message, /answered 429 \(Retry-After 3000 ms\)/);
    now += 1000;
    const waiting = await failureOf(source.fetchToken());
    assert.equal(calls(), 1, 'nothing was sent before Retry-After passed');
    assert.equal(waiting.retryAfterMs, 2000);
    assert.equal(waiting.retryable, true);
    assert.equal(classifyFailure(waiting).status, 429, 'the refusal still shows the 429 that set the wait');
    // A retry timer that fires a millisecond before Date.now() reaches Retry-After is not refused.
    now += 1999;
    assert.ok((await source.fetchToken()).token);
    assert.equal(calls(), 2);
  });

  it('a 429 without a visible Retry-After backs off 1 s, 2 s, 4 s; a token resets it', async () => {
    let now = 1_000_000;
    const { credential } = scriptedCredential([429, 429, 429, 'token', 429]);
    const source = azureTokenSource(credential, SCOPE, 'test', { now: () => now });
    for (const expected of [1000, 2000, 4000]) {
      const failure = await failureOf(source.fetchToken());
      assert.equal(failure.retryAfterMs, expected);
      assert.match(
        failure.message,
        new RegExp(`No Retry-After could be seen: backing off ${expected} ms\\.`),
      );
      assert.ok(failure.hint, 'the hint is kept');
      now += expected;
    }
    await source.fetchToken();
    assert.equal((await failureOf(source.fetchToken())).retryAfterMs, 1000);
  });

  it('a failure without Retry-After that is no 429 waits for nothing here (the retry layer decides)', async () => {
    const { credential, calls } = scriptedCredential([503, 'token']);
    const source = azureTokenSource(credential, SCOPE, 'test', { now: () => 1_000_000 });
    assert.equal((await failureOf(source.fetchToken())).retryAfterMs, undefined);
    await source.fetchToken();
    assert.equal(calls(), 2);
  });

  it('after a recorded 429 or 5xx, the next fetch uses a fresh credential; not after a 400', async () => {
    let built = 0;
    const fresh = () => {
      built++;
      return scriptedCredential(['token']).credential;
    };
    for (const [status, renewed] of [
      [429, 1],
      [503, 1],
      [400, 0],
    ] as const) {
      built = 0;
      const { credential } = scriptedCredential([status]);
      const answers = recorderOf([{ status, headers: {}, errorCodes: [] }, undefined]);
      const source = azureTokenSource(credential, SCOPE, 'test', {
        answers,
        renewCredential: fresh,
        now: () => 0,
      });
      await failureOf(source.fetchToken());
      assert.equal(built, renewed, `after ${status}`);
    }
  });
});

describe('azureTokenSource: a token the server refused', () => {
  it('forceRefresh fetches with a fresh credential, whose MSAL cache is empty: the token comes newly issued', async () => {
    let built = 0;
    const fresh = () => {
      built++;
      return scriptedCredential(['token']).credential;
    };
    const { credential, calls } = scriptedCredential(['token']);
    const source = azureTokenSource(credential, SCOPE, 'test', { renewCredential: fresh });
    await source.fetchToken();
    assert.equal(built, 0, 'an ordinary fetch keeps the credential (and its cache)');
    await source.fetchToken({ forceRefresh: true });
    assert.equal(built, 1);
    assert.equal(calls(), 1, 'the refused token’s credential is not asked again');
  });
});

describe('azureTokenSource: what to fix', () => {
  const env = {
    AZURE_CLIENT_ID: '0b6f7e4c-1111-4000-8000-000000000001',
    AZURE_TENANT_ID: '72f988bf-0000-4000-8000-00000000e1e1',
    AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
  };

  it('names each Entra refusal by its AADSTS code, from the recorded answer or the SDK’s message', () => {
    const byCode = (code: number, extra = {}) =>
      diagnoseEntraFailure({
        error: new Error('refused'),
        answer: { status: 400, headers: {}, errorCodes: [code] },
        env: { ...env, ...extra },
      })?.hint;
    assert.match(
      byCode(700016) ?? '',
      /^AADSTS700016: Entra knows no application or managed identity with client id 0b6f7e4c-1111-4000-8000-000000000001 in tenant 72f988bf-/,
    );
    assert.match(
      byCode(700024) ?? '',
      /^AADSTS700024: The federated token in AZURE_FEDERATED_TOKEN_FILE \(\/var\/run\/secrets\/azure\/tokens\/azure-identity-token\) has expired/,
    );
    assert.match(byCode(700024, { AZURE_FEDERATED_TOKEN_FILE: undefined }) ?? '', /clock/);
    assert.match(byCode(70021) ?? '', /^AADSTS70021: .*api:\/\/AzureADTokenExchange/);
    assert.match(byCode(7000215) ?? '', /^AADSTS7000215: AZURE_CLIENT_SECRET is not a current secret/);
    assert.match(byCode(90002) ?? '', /^AADSTS90002: No tenant 72f988bf-/);
    assert.equal(byCode(50000), undefined, 'an unknown code gets the generic hints');
    const fromMessage = diagnoseEntraFailure({
      error: new AggregateError(
        [new Error('AADSTS700016: Application with identifier ... was not found')],
        'chain failed',
      ),
      env,
    });
    assert.match(fromMessage?.hint ?? '', /^AADSTS700016: /);
  });

  it('a token file that cannot be read is CREDENTIAL_UNAVAILABLE, whatever the SDK wrapped it in', async () => {
    const enoent = new Error(`ENOENT: no such file or directory, open '${env.AZURE_FEDERATED_TOKEN_FILE}'`);
    const wrapped = Object.assign(new Error('EnvironmentCredential authentication failed.'), {
      statusCode: 400,
      cause: enoent,
    });
    const { credential } = scriptedCredential([wrapped]);
    const failure = await failureOf(azureTokenSource(credential, SCOPE, 'test', { env }).fetchToken());
    assert.equal(failure.code, 'CREDENTIAL_UNAVAILABLE');
    assert.match(
      failure.message,
      /AZURE_FEDERATED_TOKEN_FILE names \/var\/run\/secrets\/azure\/tokens\/azure-identity-token, which cannot be read \(ENOENT\)/,
    );
    assert.match(failure.hint ?? '', /azure\.workload\.identity\/use/);
  });
});

describe('createAnswerRecorder: the SDK’s own HTTP client, its failing answers recorded', () => {
  it('records the status, the Retry-After headers and the AADSTS codes of the latest request’s failure, nothing of successes', async () => {
    const server = createServer((request, response) => {
      if (request.url === '/throttled') {
        response.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '3' });
        response.end(JSON.stringify({ error: 'invalid_client', error_codes: [50196] }));
      } else {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ access_token: 'secret-token' }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { createPipelineRequest } = await import('@azure/core-rest-pipeline');
    const send = (path: string) =>
      (recorder as AnswerRecorder).httpClient.sendRequest(
        createPipelineRequest({ url: `${base}${path}`, allowInsecureConnection: true }) as never,
      );
    const recorder = createAnswerRecorder();
    try {
      assert.ok(recorder, 'the SDK’s HTTP client was found');
      assert.equal((await send('/throttled')).status, 429, 'the answer reaches the SDK unchanged');
      assert.deepEqual(recorder.lastFailure(), {
        status: 429,
        headers: { 'retry-after': '3' },
        errorCodes: [50196],
      });
      await send('/token');
      assert.equal(recorder.lastFailure(), undefined, 'the latest request succeeded');
      await send('/throttled');
      await assert.rejects(
        (recorder as AnswerRecorder).httpClient.sendRequest(
          createPipelineRequest({
            url: 'http://127.0.0.1:1/refused',
            allowInsecureConnection: true,
          }) as never,
        ),
      );
      assert.equal(recorder.lastFailure(), undefined, 'no answer: an earlier failure does not stand for it');
      await send('/throttled');
      recorder.reset();
      assert.equal(recorder.lastFailure(), undefined);
    } finally {
      server.close();
    }
  });
});

describe('the credential the library builds', () => {
  it('skips instance discovery only where AZURE_AUTHORITY_HOST names the authority', () => {
    assert.equal(azureCredentialOptions({ env: {} }).disableInstanceDiscovery, undefined);
    assert.equal(
      azureCredentialOptions({ env: { AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443' } })
        .disableInstanceDiscovery,
      true,
    );
    assert.deepEqual(azureCredentialOptions({ clientId: 'c' }).retryOptions, { maxRetries: 0 });
  });

  it('is the WorkloadIdentityCredential DefaultAzureCredential would choose, unless a service principal or AZURE_TOKEN_CREDENTIALS comes first', () => {
    const workload = { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_FEDERATED_TOKEN_FILE: '/token' };
    assert.match(
      describeDefaultCredential(workload, undefined),
      /^WorkloadIdentityCredential \(DefaultAzureCredential's choice here\): client id c, token file \/token/,
    );
    assert.match(
      describeDefaultCredential(workload, 'uami'),
      /client id uami/,
      'the option names the client, as in the chain',
    );
    assert.match(
      describeDefaultCredential({ ...workload, AZURE_CLIENT_SECRET: 's' }, undefined),
      /^DefaultAzureCredential: service principal c \(client secret\)/,
    );
    assert.match(
      describeDefaultCredential(
        { ...workload, AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential' },
        undefined,
      ),
      /^DefaultAzureCredential: /,
    );
    assert.doesNotMatch(
      describeDefaultCredential({ ...workload, AZURE_CLIENT_SECRET: 'hunter2' }, undefined),
      /hunter2/,
    );
  });
});

describe('the doctor’s reading of the credential files', () => {
  const folder = mkdtempSync(join(tmpdir(), 'azure-credential-files-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const jwt = (claims: Record<string, unknown>) =>
    `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
  const read = (text: string) => () => text;
  const now = Date.now();

  it('a federated token file: its issuer, audience, subject and time left; expired, other audience, empty, missing', () => {
    const good = {
      iss: 'https://eastus.oic.prod-aks.azure.com/t/c/',
      sub: 'system:serviceaccount:default:app',
      aud: ['api://AzureADTokenExchange'],
    };
    const fine = readFederatedTokenFile('/t', read(jwt({ ...good, exp: now / 1000 + 1800 })), now);
    assert.equal(fine.problem, undefined);
    assert.match(
      fine.summary,
      /^a token for api:\/\/AzureADTokenExchange from https:\/\/eastus\.oic\.prod-aks\.azure\.com\/t\/c\/, subject system:serviceaccount:default:app, valid (29|30) more minutes$/,
    );
    assert.equal(
      readFederatedTokenFile('/t', read(jwt({ ...good, exp: now / 1000 - 600 })), now).problem,
      'the token has expired',
    );
    assert.equal(
      readFederatedTokenFile('/t', read(jwt({ ...good, aud: 'api://Other', exp: now / 1000 + 60 })), now)
        .problem,
      'the token is not for api://AzureADTokenExchange',
    );
    assert.equal(readFederatedTokenFile('/t', read('\n'), now).problem, 'the file holds no token');
    const missing = readFederatedTokenFile(
      join(folder, 'none'),
      (path) => {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      },
      now,
    );
    assert.equal(missing.problem, 'the file cannot be read (ENOENT)');
    assert.ok(missing.hint);
  });

  it('a certificate file: subject, thumbprint and validity; a certificate without its key is a problem', () => {
    const { certificate } = createApplicationCredentials('ci-deployer');
    const fine = readCertificateFile('/c.pem', read(certificate.pem), now);
    assert.equal(fine.problem, undefined);
    assert.match(fine.summary, /^CN=ci-deployer, SHA-1 thumbprint [0-9A-F]{40}, valid until /);
    const certificateOnly = certificate.pem.slice(0, certificate.pem.indexOf('-----BEGIN PRIVATE KEY-----'));
    assert.equal(
      readCertificateFile('/c.pem', read(certificateOnly), now).problem,
      'the file holds the certificate but not its private key',
    );
    assert.equal(
      readCertificateFile('/c.pem', read('not a certificate'), now).problem,
      'the file holds no PEM certificate',
    );
  });

  it('the credential step fails on such a file, and names the file and the authority, never the secret or the token', () => {
    const tokenPath = join(folder, 'azure-identity-token');
    writeFileSync(
      tokenPath,
      jwt({ iss: 'https://issuer/', sub: 's', aud: ['api://AzureADTokenExchange'], exp: now / 1000 - 60 }),
    );
    const env = {
      AZURE_TENANT_ID: 't',
      AZURE_CLIENT_ID: 'c',
      AZURE_FEDERATED_TOKEN_FILE: tokenPath,
      AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443',
    };
    const expired = describeAzureCredential({ env, options: {} });
    assert.equal(expired.ok, false);
    assert.match(
      expired.chosen,
      new RegExp(
        `^WorkloadIdentityCredential .*token file ${tokenPath} \\(.*expired \\d+ minutes ago\\).*authority https://127\\.0\\.0\\.1:8443 \\(AZURE_AUTHORITY_HOST\\); the token has expired$`,
      ),
    );
    assert.ok(expired.hint);
    assert.doesNotMatch(JSON.stringify(expired), /c2ln/, 'no part of the token');
    const secret = describeAzureCredential({
      env: { ...env, AZURE_CLIENT_SECRET: 'hunter2', AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' },
      options: {},
    });
    assert.equal(secret.ok, true);
    assert.match(
      secret.chosen,
      /a client secret \(AZURE_CLIENT_CERTIFICATE_PATH is set too: the secret wins\)/,
    );
    assert.doesNotMatch(JSON.stringify(secret), /hunter2/);
  });
});
