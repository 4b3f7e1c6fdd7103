// Aurora DSQL as the emulator plays it (`--cloud aws --service dsql`): tokens signed by the real
// @aws-sdk/dsql-signer with the credentials the emulator's endpoint hands out, checked by the gateway
// from its own table (dsql-facts.ts), refused with DSQL's texts, and sessions ended at the cap. Each
// expected text is written out here from AWS's documentation or its users' reports, not taken from
// either package.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { Signer } from '@aws-sdk/rds-signer';
import type pg from 'pg';
import { gatewayClientConfig, tryLogin } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { runScript } from '../../pg-passwordless/test/helpers/run-scenario.ts';
import { DSQL_SESSION, DSQL_TOKEN } from '../src/clouds/dsql-facts.ts';
import { type Emulator, parseEmulatorArgs, startEmulator } from '../src/index.ts';

const LIBRARY_LOGIN = fileURLToPath(new URL('./fixtures/library-login.ts', import.meta.url));

/** DSQL's FATAL line for every refused token login (AWS's Aurora DSQL skill, troubleshooting reference). */
const ACCESS_DENIED = 'unable to accept connection, access denied';

type LoginError = Error & { code?: string; hint?: string; severity?: string };

describe('Aurora DSQL: the gateway checks tokens of the real DsqlSigner', () => {
  let emulator: Emulator;
  let nowMs = Date.now();

  before(async () => {
    emulator = await startEmulator({
      cloud: 'aws',
      awsService: 'dsql',
      awsUsers: ['orders_app', 'reports'],
      awsCredentialLifetimeSeconds: 3 * 3600,
      now: () => nowMs,
    });
  });
  after(() => emulator?.stop());

  /** A token signed in this process with the emulator's current credentials, as the SDK signs it. */
  const sign = (
    action: 'DbConnect' | 'DbConnectAdmin',
    { hostname = emulator.gateway.host, region = 'us-east-1', expiresIn }: SignOptions = {},
  ) => {
    const signer = new DsqlSigner({
      hostname,
      region,
      credentials: emulator.aws?.currentCredentials(),
      ...(expiresIn ? { expiresIn } : {}),
    });
    return action === 'DbConnectAdmin' ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken();
  };
  const login = (user: string, password: string) => tryLogin(gatewayClientConfig(emulator, user, password));
  const refusal = async (user: string, password: string): Promise<LoginError> => {
    const { client, error } = await login(user, password);
    await client?.end();
    assert.ok(error, `the login of ${user} was refused`);
    return error as LoginError;
  };
  const assertDenied = (error: LoginError, hint?: RegExp) => {
    assert.equal(error.message, ACCESS_DENIED);
    assert.equal(error.severity, 'FATAL');
    assert.equal(error.code, '08006');
    if (hint) assert.match(error.hint ?? '', hint);
    else assert.equal(error.hint, undefined, 'no hint: DSQL says only "access denied"');
  };

  it('admin logs in with a DbConnectAdmin token, a role of your own with a DbConnect token', async () => {
    for (const [user, action] of [
      ['admin', 'DbConnectAdmin'],
      ['orders_app', 'DbConnect'],
      ['reports', 'DbConnect'],
    ] as const) {
      const { client, error } = await login(user, await sign(action));
      assert.equal(error, undefined, `${user}: ${error?.message}`);
      const { rows } = await (client as pg.Client).query('select current_user as role');
      assert.equal(rows[0].role, user);
      await client?.end();
    }
  });

  it('the other action is refused with "Wrong user to action mapping" in the HINT', async () => {
    assertDenied(
      await refusal('admin', await sign('DbConnect')),
      /^Wrong user to action mapping\. user: admin, action: DbConnect$/,
    );
    assertDenied(
      await refusal('orders_app', await sign('DbConnectAdmin')),
      /^Wrong user to action mapping\. user: orders_app, action: DbConnectAdmin$/,
    );
  });

  it('refuses, with no hint, a tampered signature, another region, another endpoint, an RDS token and a password', async () => {
    const token = await sign('DbConnect');
    const tampered = token.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_, digit: string) => `X-Amz-Signature=${digit === '0' ? '1' : '0'}`,
    );
    assertDenied(await refusal('orders_app', tampered));
    assertDenied(await refusal('orders_app', await sign('DbConnect', { region: 'eu-west-1' })));
    assertDenied(
      await refusal('orders_app', await sign('DbConnect', { hostname: 'abc.dsql.us-east-1.on.aws' })),
    );
    const rdsToken = await new Signer({
      hostname: emulator.gateway.host,
      port: emulator.gateway.port,
      username: 'orders_app',
      region: 'us-east-1',
      credentials: emulator.aws?.currentCredentials(),
    }).getAuthToken();
    assertDenied(await refusal('orders_app', rdsToken));
    assertDenied(await refusal('orders_app', 'hunter2'));
  });

  it('signed for "localhost" (the other name of the gateway) is taken', async () => {
    const { client, error } = await login('orders_app', await sign('DbConnect', { hostname: 'localhost' }));
    assert.equal(error, undefined);
    await client?.end();
  });

  it('a role not granted to the IAM identity is refused; admin needs no grant', async () => {
    await emulator.adminSql('create role ghost login');
    assertDenied(await refusal('ghost', await sign('DbConnect')));
  });

  it('honours X-Amz-Expires (unlike RDS): 15 minutes by default, an hour when signed so, a week at most', async () => {
    const short = await sign('DbConnect');
    const long = await sign('DbConnect', { expiresIn: 3600 });
    // Past a week the SDK itself will not sign (SigV4's limit for presigned URLs).
    await assert.rejects(sign('DbConnect', { expiresIn: DSQL_TOKEN.longestLifetimeSeconds + 1 }), /one week/);
    nowMs += 20 * 60_000;
    try {
      assertDenied(
        await refusal('orders_app', short),
        /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
      );
      const { client, error } = await login('orders_app', long);
      assert.equal(error, undefined, 'a token signed for an hour is still good after 20 minutes');
      await client?.end();
    } finally {
      nowMs -= 20 * 60_000;
    }
  });

  it('a token dated more than 5 minutes after the server’s clock: "Signature not yet current"', async () => {
    const token = await sign('DbConnect');
    nowMs -= 10 * 60_000;
    try {
      assertDenied(
        await refusal('orders_app', token),
        /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/,
      );
    } finally {
      nowMs += 10 * 60_000;
    }
  });

  it('a token whose signing credentials expired is refused, though the token has not', async () => {
    // Signed for a week, so that only the credentials (3 hours) have expired when it is used.
    const token = await sign('DbConnect', { expiresIn: DSQL_TOKEN.longestLifetimeSeconds });
    const expiration = emulator.aws?.currentCredentials().expiration.getTime() as number;
    const savedNow = nowMs;
    nowMs = expiration + 1;
    const { client, error } = await login('orders_app', token);
    nowMs = savedNow;
    await client?.end();
    assert.ok(error, 'refused');
    assert.equal(error.message, 'IAM authentication failed for user "orders_app"');
    assert.equal(error.code, '28000');
  });
});

interface SignOptions {
  hostname?: string;
  region?: string;
  expiresIn?: number;
}

describe('Aurora DSQL: sessions end at the cap, without a message', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql', dsqlSessionCapSeconds: 1 });
  });
  after(() => emulator?.stop());

  it('a logged-in session is closed at the cap; the client sees the connection end, no ErrorResponse', async () => {
    const token = await new DsqlSigner({
      hostname: emulator.gateway.host,
      region: 'us-east-1',
      credentials: emulator.aws?.currentCredentials(),
    }).getDbConnectAuthToken();
    const { client, error } = await tryLogin(gatewayClientConfig(emulator, 'app_user', token));
    assert.equal(error, undefined);
    const ended = new Promise<Error | undefined>((resolve) => {
      client?.on('error', resolve);
      client?.on('end', () => resolve(undefined));
    });
    assert.equal((await (client as pg.Client).query('select 1 as one')).rows[0].one, 1);
    const endedWith = await ended;
    assert.equal((endedWith as LoginError | undefined)?.code, undefined, 'no SQLSTATE: DSQL sends no error');
    assert.equal(emulator.counters().gateway.sessionsCapped, 1);
    await assert.rejects((client as pg.Client).query('select 1'));
  });
});

describe('Aurora DSQL: the real library against the emulator’s own table', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql' });
  });
  after(() => emulator?.stop());

  const libraryLogin = async (extraEnv: Record<string, string>) => {
    const result = await runScript(LIBRARY_LOGIN, [], { ...emulator.env, ...extraEnv });
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    return result.output as { role?: string; code?: string; sqlState?: string; serverMessage?: string };
  };
  const withSettings = (settings: object) => ({ LIBRARY_SETTINGS: JSON.stringify(settings) });

  it('the library’s defaults log in, as admin and as a role of your own', async () => {
    assert.deepEqual(await libraryLogin({ LIBRARY_USER: 'admin' }), { role: 'admin' });
    assert.deepEqual(await libraryLogin({ LIBRARY_USER: 'app_user' }), { role: 'app_user' });
  });

  for (const [what, settings] of [
    ['another region', { aws: { region: 'eu-west-1' } }],
    ['another cluster endpoint', { aws: { signingHost: 'abc.dsql.us-east-1.on.aws' } }],
    ['RDS instead of DSQL', { aws: { service: 'rds' } }],
  ] as const) {
    it(`a token for ${what} is refused with DSQL’s text`, async () => {
      const outcome = await libraryLogin({ LIBRARY_USER: 'app_user', ...withSettings(settings) });
      assert.equal(outcome.serverMessage, ACCESS_DENIED, JSON.stringify(outcome));
      assert.equal(outcome.sqlState, '08006');
    });
  }
});

describe('the emulator’s DSQL table holds what AWS documents', () => {
  it('service dsql, the two actions and the admin role, a week at most, 5 minutes of skew, a 60-minute session', () => {
    assert.equal(DSQL_TOKEN.signingService, 'dsql');
    assert.deepEqual(
      [DSQL_TOKEN.adminRole, DSQL_TOKEN.adminAction, DSQL_TOKEN.roleAction],
      ['admin', 'DbConnectAdmin', 'DbConnect'],
    );
    assert.equal(DSQL_TOKEN.longestLifetimeSeconds, 604_800);
    assert.equal(DSQL_TOKEN.clockSkewMs, 300_000);
    assert.equal(DSQL_SESSION.capSeconds, 3600);
  });
});

describe('--service and --dsql-session-cap', () => {
  it('--cloud aws --service dsql --dsql-session-cap 5', () => {
    const { options } = parseEmulatorArgs(
      ['--cloud', 'aws', '--service', 'dsql', '--dsql-session-cap', '5'],
      {},
    );
    assert.equal(options.awsService, 'dsql');
    assert.equal(options.dsqlSessionCapSeconds, 5);
    assert.equal(parseEmulatorArgs(['--cloud', 'aws'], {}).options.awsService, undefined);
  });

  it('refuses --service without its cloud, a service aws does not have, and a session cap without dsql', () => {
    assert.throws(() => parseEmulatorArgs(['--service', 'dsql'], {}), {
      code: 'CONFIG_INVALID',
      message: /--service dsql needs the cloud it belongs to/,
    });
    assert.throws(() => parseEmulatorArgs(['--cloud', 'aws', '--service', 'aurora'], {}), {
      code: 'CONFIG_INVALID',
      message: /--service must be one of rds, dsql/,
    });
    assert.throws(() => parseEmulatorArgs(['--cloud', 'aws', '--dsql-session-cap', '5'], {}), {
      code: 'CONFIG_INVALID',
      message: /--dsql-session-cap is for --cloud aws --service dsql/,
    });
  });
});
