// The emulator's AWS identity paths, checked with the AWS SDK's own providers (fromTokenFile, fromHttp)
// and by hand where a test needs a request the SDK would never send: IRSA's STS exchange
// (AssumeRoleWithWebIdentity) and the EKS Pod Identity agent, with the refusals of each, and the
// gateway refusing an RDS token once the temporary credentials that signed it have expired.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fromHttp, fromTokenFile } from '@aws-sdk/credential-providers';
import { Signer } from '@aws-sdk/rds-signer';
import pg from 'pg';
import { createEksCluster } from '../src/clouds/aws-service-account.ts';
import { type Emulator, parseEmulatorArgs, startEmulator } from '../src/index.ts';

/** The SDK's web identity provider, pointed at the emulator's STS through its client config. */
function webIdentity(emulator: Emulator, overrides: { roleArn?: string; file?: string } = {}) {
  return fromTokenFile({
    webIdentityTokenFile: overrides.file ?? emulator.aws?.tokenFile,
    roleArn: overrides.roleArn ?? emulator.aws?.roleArn,
    roleSessionName: 'emulator-test',
    clientConfig: { endpoint: emulator.env.AWS_ENDPOINT_URL_STS, region: 'us-east-1', maxAttempts: 1 },
  })();
}

/** The SDK's container provider with the token file, as EKS Pod Identity sets it up. */
function podIdentity(emulator: Emulator, tokenFile = emulator.aws?.tokenFile) {
  return fromHttp({
    awsContainerCredentialsFullUri: emulator.env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
    awsContainerAuthorizationTokenFile: tokenFile,
    maxRetries: 0,
  })();
}

/** Checks an SDK error: its name, its message, and the HTTP status STS answered with. */
function stsError(name: string, message: string | RegExp, status: number) {
  return (error: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.name, name);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message ?? '', message);
    assert.equal(error.$metadata?.httpStatusCode, status);
    return true;
  };
}

/** Logs in to the gateway with an RDS token the real Signer made with these credentials. */
async function loginWith(
  emulator: Emulator,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): Promise<string> {
  const { host, port } = emulator.gateway;
  const token = await new Signer({
    hostname: host,
    port,
    username: 'app_user',
    region: 'us-east-1',
    credentials,
  }).getAuthToken();
  const client = new pg.Client({
    host,
    port,
    user: 'app_user',
    database: emulator.backend.database,
    password: token,
    ssl: { ca: readFileSync(emulator.caPath, 'utf8') },
  });
  try {
    await client.connect();
    return (await client.query('select current_user')).rows[0].current_user as string;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('emulator flags for the AWS identity paths', () => {
  it('reads --aws-credential, --aws-credential-lifetime and --aws-role-arn', () => {
    const { options } = parseEmulatorArgs(
      [
        '--cloud',
        'aws',
        '--aws-credential',
        'web-identity',
        '--aws-credential-lifetime',
        '60',
        '--aws-role-arn',
        'arn:aws:iam::123456789012:role/orders',
      ],
      {},
    );
    assert.equal(options.awsCredential, 'web-identity');
    assert.equal(options.awsCredentialLifetimeSeconds, 60);
    assert.equal(options.awsRoleArn, 'arn:aws:iam::123456789012:role/orders');
    assert.equal(parseEmulatorArgs(['--cloud', 'aws'], {}).options.awsCredential, undefined);
    assert.throws(() => parseEmulatorArgs(['--aws-credential', 'irsa'], {}), {
      code: 'CONFIG_INVALID',
      message: /--aws-credential must be one of container, pod-identity, web-identity, not "irsa"/,
    });
    assert.throws(() => parseEmulatorArgs(['--aws-credential-lifetime', '0'], {}), {
      code: 'CONFIG_INVALID',
    });
  });

  it('refuses a role that is no IAM role ARN, on the command line before anything starts', async () => {
    assert.throws(() => parseEmulatorArgs(['--aws-role-arn', 'orders'], {}), {
      code: 'CONFIG_INVALID',
      message: /Not an IAM role ARN: "orders"/,
    });
    await assert.rejects(startEmulator({ cloud: 'aws', backend: 'pglite', awsRoleArn: 'orders' }), {
      code: 'CONFIG_INVALID',
      message: /Not an IAM role ARN: "orders"/,
    });
  });
});

describe('IRSA: the token file and STS', () => {
  let emulator: Emulator;
  const nowMs = Date.now();
  before(async () => {
    emulator = await startEmulator({
      cloud: 'aws',
      awsCredential: 'web-identity',
      backend: 'pglite',
      now: () => nowMs,
    });
  });
  after(() => emulator?.stop());

  it('exports the web identity variables, with a token file only its owner can read', () => {
    const { env, aws } = emulator;
    assert.equal(env.AWS_WEB_IDENTITY_TOKEN_FILE, aws?.tokenFile);
    assert.equal(env.AWS_ROLE_ARN, 'arn:aws:iam::000000000000:role/pg-passwordless-emulator');
    assert.match(env.AWS_ENDPOINT_URL_STS ?? '', /^http:\/\/127\.0\.0\.1:\d+\/aws\/sts$/);
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    assert.equal(statSync(aws?.tokenFile ?? '').mode & 0o777, 0o600);
    const claims = JSON.parse(
      Buffer.from(readFileSync(aws?.tokenFile ?? '', 'utf8').split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    assert.equal(claims.sub, 'system:serviceaccount:default:orders-api');
    assert.deepEqual(claims.aud, ['sts.amazonaws.com']);
    assert.match(String(claims.iss), /^https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
    assert.equal((claims.exp as number) - (claims.iat as number), 86_400);
  });

  it('the SDK’s fromTokenFile gets credentials for 1 hour, counted as issued, which sign a token the gateway takes', async () => {
    const issuedBefore = emulator.counters().tokensIssued;
    const credentials = await webIdentity(emulator);
    assert.match(credentials.accessKeyId, /^ASIA[0-9A-F]{16}$/);
    assert.equal(credentials.expiration?.getTime(), nowMs + 3_600_000);
    assert.equal(emulator.counters().tokensIssued, issuedBefore + 1);
    assert.equal(await loginWith(emulator, credentials), 'app_user');
  });

  it('refuses a role whose trust policy does not name the token: 403 AccessDenied', async () => {
    await assert.rejects(
      webIdentity(emulator, { roleArn: 'arn:aws:iam::000000000000:role/another' }),
      stsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403),
    );
  });

  it('refuses an expired token: ExpiredTokenException with STS’s times', async () => {
    await emulator.aws?.writeTokenFile({ lifetimeSeconds: -60 });
    try {
      await assert.rejects(
        webIdentity(emulator),
        stsError(
          'ExpiredTokenException',
          /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
          400,
        ),
      );
    } finally {
      await emulator.aws?.writeTokenFile();
    }
  });

  it('refuses a token for another audience, of another cluster, or with a broken signature: InvalidIdentityToken', async () => {
    const file = `${emulator.aws?.tokenFile}.other`;
    const invalid = (message: string | RegExp) => stsError('InvalidIdentityTokenException', message, 400);
    await emulator.aws?.writeTokenFile({ audience: 'pods.eks.amazonaws.com' });
    await assert.rejects(webIdentity(emulator), invalid('Incorrect token audience'));
    await emulator.aws?.writeTokenFile();

    const foreign = await createEksCluster('us-east-1');
    writeFileSync(file, await foreign.issueToken({ audience: 'sts.amazonaws.com', nowMs }));
    await assert.rejects(
      webIdentity(emulator, { file }),
      invalid(`No OpenIDConnect provider found in your account for ${foreign.issuer}`),
    );

    const [header, payload, signature = ''] = readFileSync(emulator.aws?.tokenFile ?? '', 'utf8').split('.');
    writeFileSync(file, `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
    await assert.rejects(webIdentity(emulator, { file }), invalid(/could not be validated by AWS/));
  });

  it('refuses a session name STS does not take: ValidationError with the constraint it breaks', async () => {
    const credentials = fromTokenFile({
      webIdentityTokenFile: emulator.aws?.tokenFile,
      roleArn: emulator.aws?.roleArn,
      roleSessionName: 'dependabot[bot]',
      clientConfig: { endpoint: emulator.env.AWS_ENDPOINT_URL_STS, region: 'us-east-1', maxAttempts: 1 },
    })();
    await assert.rejects(
      credentials,
      stsError(
        'ValidationError',
        "1 validation error detected: Value 'dependabot[bot]' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        400,
      ),
    );
  });

  it('answers a request the SDK never sends with STS’s error document', async () => {
    const sts = emulator.env.AWS_ENDPOINT_URL_STS ?? '';
    const missing = await fetch(sts, {
      method: 'POST',
      body: new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity' }),
    });
    assert.equal(missing.status, 400);
    const body = await missing.text();
    assert.match(body, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.match(body, /<Type>Sender<\/Type>\s*<Code>MissingParameter<\/Code>/);
    assert.match(body, /<RequestId>[0-9a-f-]{36}<\/RequestId>/);
    const other = await fetch(sts, {
      method: 'POST',
      body: new URLSearchParams({ Action: 'GetCallerIdentity' }),
    });
    assert.match(await other.text(), /<Code>InvalidAction<\/Code>/);
  });

  it('the gateway refuses a token once the credentials that signed it expire, within the token’s 15 minutes', async () => {
    let offsetMs = 0;
    const short = await startEmulator({
      cloud: 'aws',
      awsCredential: 'web-identity',
      awsCredentialLifetimeSeconds: 120,
      backend: 'pglite',
      now: () => Date.now() + offsetMs,
    });
    try {
      const credentials = await webIdentity(short);
      // The Signer dates each token by this machine's clock: at most 2 minutes old by the gateway's.
      offsetMs = 110_000;
      assert.equal(await loginWith(short, credentials), 'app_user');
      offsetMs = 121_000;
      assert.equal(await loginWith(short, credentials), 'PAM authentication failed for user "app_user"');
    } finally {
      await short.stop();
    }
  });

  it('removes the token file at stop', async () => {
    const other = await startEmulator({ cloud: 'aws', awsCredential: 'web-identity', backend: 'pglite' });
    const file = other.aws?.tokenFile ?? '';
    assert.ok(existsSync(file));
    await other.stop();
    assert.equal(existsSync(file), false);
  });
});

describe('EKS Pod Identity: the agent and its token file', () => {
  let emulator: Emulator;
  const nowMs = Date.now();
  before(async () => {
    emulator = await startEmulator({
      cloud: 'aws',
      awsCredential: 'pod-identity',
      backend: 'pglite',
      now: () => nowMs,
    });
  });
  after(() => emulator?.stop());

  /** What the agent answers this Authorization header. */
  const ask = async (authorization?: string) => {
    const response = await fetch(emulator.env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '', {
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };

  it('exports the agent’s URI and the token file, as EKS sets them in a pod', () => {
    const { env, aws } = emulator;
    assert.match(
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '',
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/credentials$/,
    );
    assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, aws?.tokenFile);
    assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN, undefined);
    assert.equal(env.AWS_WEB_IDENTITY_TOKEN_FILE, undefined);
    const token = readFileSync(aws?.tokenFile ?? '', 'utf8');
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as {
      kid: string;
    };
    assert.match(header.kid, /^[0-9a-f]{40}$/, 'the kid form the agent checks');
  });

  it('the SDK’s fromHttp reads the token file and gets credentials, which sign a token the gateway takes', async () => {
    const credentials = await podIdentity(emulator);
    assert.match(credentials.accessKeyId, /^ASIA/);
    assert.equal(await loginWith(emulator, credentials), 'app_user');
    const answer = JSON.parse(
      (await ask(readFileSync(emulator.aws?.tokenFile ?? '', 'utf8'))).text,
    ) as object;
    assert.deepEqual(Object.keys(answer), [
      'AccessKeyId',
      'SecretAccessKey',
      'Token',
      'AccountId',
      'Expiration',
    ]);
  });

  it('refuses a missing, unparsable, expired, foreign or misdirected token with the agent’s words', async () => {
    const plain = 'text/plain; charset=utf-8';
    assert.deepEqual(await ask(), {
      status: 400,
      type: plain,
      text: 'Service account token cannot be empty\n',
    });
    const unparsable = await ask('not-a-jwt');
    assert.equal(unparsable.status, 400);
    assert.match(unparsable.text, /^Service account token cannot be parsed: token is malformed/);

    const cluster = await createEksCluster('us-east-1');
    const expired = await cluster.issueToken({
      audience: 'pods.eks.amazonaws.com',
      lifetimeSeconds: -5,
      nowMs,
    });
    assert.equal(
      (await ask(expired)).text,
      'Service account token failed basic claim validations: token is expired\n',
    );
    const invalid =
      /^\[[0-9a-f-]{36}\]: \(InvalidTokenException\): The specified Kubernetes service account token is invalid\., fault: client\n$/;
    const foreign = await cluster.issueToken({ audience: 'pods.eks.amazonaws.com', nowMs });
    assert.match((await ask(foreign)).text, invalid);
    await emulator.aws?.writeTokenFile({ audience: 'sts.amazonaws.com' });
    try {
      assert.match((await ask(readFileSync(emulator.aws?.tokenFile ?? '', 'utf8'))).text, invalid);
      await assert.rejects(podIdentity(emulator), { message: /Server responded with status: 400/ });
    } finally {
      await emulator.aws?.writeTokenFile();
    }
  });

  it('hands out credentials that expire at the lifetime set, and new ones once those near their end', async () => {
    const short = await startEmulator({
      cloud: 'aws',
      awsCredential: 'pod-identity',
      awsCredentialLifetimeSeconds: 60,
      backend: 'pglite',
    });
    try {
      const first = await podIdentity(short);
      const second = await podIdentity(short);
      assert.ok((first.expiration?.getTime() ?? 0) - Date.now() <= 60_000);
      assert.notEqual(second.accessKeyId, first.accessKeyId, 'within 15 minutes of expiry: a fresh set');
    } finally {
      await short.stop();
    }
  });
});

describe('container credentials (the default) are unchanged', () => {
  it('have no token file to write', async () => {
    const emulator = await startEmulator({ cloud: 'aws', backend: 'pglite' });
    try {
      assert.equal(emulator.aws?.credential, 'container');
      assert.equal(emulator.aws?.tokenFile, undefined);
      await assert.rejects(emulator.aws?.writeTokenFile() ?? Promise.resolve(), { code: 'CONFIG_INVALID' });
      assert.ok(emulator.env.AWS_CONTAINER_AUTHORIZATION_TOKEN);
    } finally {
      await emulator.stop();
    }
  });
});
