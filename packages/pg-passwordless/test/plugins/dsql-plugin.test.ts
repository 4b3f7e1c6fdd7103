// Aurora DSQL in the aws cloud: the service chosen by the host or the settings, the action by the role,
// verified TLS with Node's roots, pool lifetimes under the 60-minute session cap; then the real
// @aws-sdk/dsql-signer through the default AWS chain against the emulator (`--cloud aws --service
// dsql`), with pg (createPool), postgres.js and the preload, each in its own process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { createPool, pgConfig } from '../../src/adapters/pg.ts';
import { postgresOptions } from '../../src/adapters/postgres.ts';
import type { LoginContext } from '../../src/core/doctor-hooks.ts';
import { lifetimeUnderCap } from '../../src/core/session-lifetime.ts';
import { explainLoginFailure } from '../../src/doctor/login-failure.ts';
import { resolveConnection } from '../../src/index.ts';
import { awsDoctor, readRdsToken } from '../../src/plugins/aws/doctor.ts';
import { isDsqlHost, regionOfDsqlHost } from '../../src/plugins/aws/dsql-endpoint.ts';
import { runScenario } from '../helpers/run-scenario.ts';
import { assertBuildIsCurrent, clientEnv, runApp } from '../register/run-app.ts';

const CLUSTER = 'abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' };
const dsqlUrl = (user: string) => `postgresql://${user}@${CLUSTER}/postgres`;
/** Settings that sign offline: explicit credentials, an empty environment. */
const offline = (more: object = {}) => ({ aws: { enabled: true, credentials, ...more }, env: {} });
/** A token's query parameters (the token is a presigned URL without its scheme). */
const queryOf = (token: string) => new URLSearchParams(token.slice(token.indexOf('/?') + 2));

describe('aws cloud: Aurora DSQL chosen, signed and verified', () => {
  it('reads the region from a DSQL cluster endpoint, and tells DSQL endpoints from others', () => {
    assert.equal(regionOfDsqlHost(CLUSTER), 'eu-west-1');
    assert.equal(regionOfDsqlHost('abc.dsql.ap-southeast-2.on.aws'), 'ap-southeast-2');
    assert.equal(regionOfDsqlHost('orders.c9akciq32.eu-west-1.rds.amazonaws.com'), undefined);
    assert.equal(isDsqlHost('abc.dsql.us-east-1.on.aws'), true);
    assert.equal(isDsqlHost('dsql.example.com'), false);
    assert.equal(isDsqlHost('127.0.0.1'), false);
  });

  it('a DSQL host signs for dsql: DbConnectAdmin for admin, DbConnect for any other role, the host without a port', async () => {
    for (const [user, action] of [
      ['admin', 'DbConnectAdmin'],
      ['orders_app', 'DbConnect'],
    ] as const) {
      const { params, cloud } = await resolveConnection(dsqlUrl(user), offline());
      const token = await (params.password as () => Promise<string>)();
      assert.ok(token.startsWith(`${CLUSTER}/?`), 'signed for the endpoint, no port');
      const query = queryOf(token);
      assert.equal(query.get('Action'), action);
      assert.match(
        query.get('X-Amz-Credential') ?? '',
        /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/dsql\/aws4_request$/,
      );
      assert.equal(query.get('X-Amz-Expires'), '900');
      assert.equal(cloud?.identity.facts?.service, 'Aurora DSQL');
      assert.equal(cloud?.identity.facts?.action, action);
      assert.equal(cloud?.identity.sessionCapSeconds, 3600);
    }
  });

  it('admin and another role of one cluster get separate caches: their tokens differ in action', async () => {
    const admin = await resolveConnection(dsqlUrl('admin'), offline());
    const app = await resolveConnection(dsqlUrl('orders_app'), offline());
    assert.notEqual(admin.cloud?.identity.cacheKey, app.cloud?.identity.cacheKey);
  });

  it('verified TLS with Node’s own roots (Amazon Root CA 1), not the RDS bundle; verify-ca with public roots is refused', async () => {
    const { tls, params } = await resolveConnection(dsqlUrl('admin'), offline());
    assert.equal(tls?.sslmode, 'verify-full');
    assert.equal(tls?.ca.from, 'system');
    assert.equal((params.ssl as { rejectUnauthorized?: boolean }).rejectUnauthorized, true);
    assert.equal((params.ssl as { ca?: unknown }).ca, undefined, 'no RDS bundle for DSQL');
    await assert.rejects(resolveConnection(`${dsqlUrl('admin')}?sslmode=verify-ca`, offline()), {
      code: 'TLS_REQUIRED',
    });
  });

  it('the service: aws.service beats PG_PASSWORDLESS_AWS_SERVICE, which beats the host; a bad one is CONFIG_INVALID', async () => {
    const loopback = 'postgresql://app_user@127.0.0.1:5432/postgres';
    const byEnv = await resolveConnection(loopback, {
      aws: { enabled: true, credentials, region: 'us-east-1' },
      env: { PG_PASSWORDLESS_AWS_SERVICE: 'dsql' },
    });
    assert.equal(byEnv.cloud?.identity.facts?.service, 'Aurora DSQL');
    const rdsByCode = await resolveConnection(dsqlUrl('app_user'), offline({ service: 'rds' }));
    assert.equal(rdsByCode.cloud?.identity.facts?.service, undefined);
    assert.match(rdsByCode.cloud?.identity.facts?.signingHost ?? '', new RegExp(`^${CLUSTER}:5432$`));
    await assert.rejects(
      resolveConnection(loopback, { aws: { enabled: true }, env: { PG_PASSWORDLESS_AWS_SERVICE: 'aurora' } }),
      { code: 'CONFIG_INVALID', message: /PG_PASSWORDLESS_AWS_SERVICE is "aurora"/ },
    );
  });

  it('a URL without a role is USER_MISSING, saying how to create one', async () => {
    await assert.rejects(resolveConnection(`postgresql://${CLUSTER}/postgres`, offline()), {
      code: 'USER_MISSING',
      message: /AWS IAM GRANT orders_app TO/,
    });
  });

  it('a region named in the settings wins over the endpoint’s', async () => {
    const { params } = await resolveConnection(dsqlUrl('admin'), offline({ region: 'us-west-2' }));
    const token = await (params.password as () => Promise<string>)();
    assert.match(queryOf(token).get('X-Amz-Credential') ?? '', /\/us-west-2\/dsql\//);
  });
});

describe('the doctor on Aurora DSQL: its tokens and its refusals', () => {
  const ACCESS_DENIED = 'unable to accept connection, access denied';
  const context = (more: Partial<LoginContext> = {}): LoginContext => ({
    user: 'admin',
    host: CLUSTER,
    port: 5432,
    facts: { service: 'Aurora DSQL' },
    now: Date.now,
    ...more,
  });
  const explain = (
    error: { code: string; message: string; hint?: string },
    more: Partial<LoginContext> = {},
  ) => explainLoginFailure(error, awsDoctor as never, context(more));

  it('reads a token of the real DsqlSigner: endpoint, action, region, 15 minutes; RDS’s reading passes it by', async () => {
    const token = await new DsqlSigner({
      hostname: CLUSTER,
      region: 'eu-west-1',
      credentials,
    }).getDbConnectAdminAuthToken();
    const facts = awsDoctor.readToken?.(token);
    assert.equal(facts?.kind, 'dsql-iam');
    assert.deepEqual(
      [facts?.signingHost, facts?.action, facts?.region],
      [CLUSTER, 'DbConnectAdmin', 'eu-west-1'],
    );
    assert.equal((facts?.expiresAtMs as number) - (facts?.issuedAtMs as number), 900_000);
    assert.equal(readRdsToken(token), undefined);
  });

  it('"Wrong user to action mapping" in the HINT: DSQL_WRONG_ACTION, saying which action the role needs', () => {
    const diagnosis = explain({
      code: '08006',
      message: ACCESS_DENIED,
      hint: 'Wrong user to action mapping. user: admin, action: DbConnect',
    });
    assert.equal(diagnosis.code, 'DSQL_WRONG_ACTION');
    assert.match(
      diagnosis.detail,
      /\(HINT: Wrong user to action mapping\. user: admin, action: DbConnect\)$/,
    );
    assert.match(diagnosis.hint, /"admin" needs DbConnectAdmin/);
  });

  it('"Signature expired" in the HINT of a token expired by this clock too: TOKEN_EXPIRED', () => {
    const diagnosis = explain(
      {
        code: '08006',
        message: ACCESS_DENIED,
        hint: 'Signature expired: 20260101T000000Z is now earlier than …',
      },
      { token: { kind: 'dsql-iam', summary: '', expiresAtMs: Date.now() - 60_000 } },
    );
    assert.equal(diagnosis.code, 'TOKEN_EXPIRED');
  });

  it('"IAM authentication failed for user": DSQL_CREDENTIALS_EXPIRED', () => {
    const diagnosis = explain({ code: '28000', message: 'IAM authentication failed for user "orders_app"' });
    assert.equal(diagnosis.code, 'DSQL_CREDENTIALS_EXPIRED');
    assert.match(diagnosis.hint, /signing credentials .* have expired/);
  });

  it('"access denied" alone: what the token shows that does not fit, then the usual causes', () => {
    const diagnosis = explain(
      { code: '08006', message: ACCESS_DENIED },
      {
        user: 'orders_app',
        token: {
          kind: 'dsql-iam',
          summary: '',
          signingHost: 'other.dsql.eu-west-1.on.aws',
          action: 'DbConnectAdmin',
        },
      },
    );
    assert.equal(diagnosis.code, 'DSQL_ACCESS_DENIED');
    assert.match(
      diagnosis.hint,
      /the token was signed for other\.dsql\.eu-west-1\.on\.aws, the connection goes to/,
    );
    assert.match(diagnosis.hint, /the token is for DbConnectAdmin, the role "orders_app" needs DbConnect/);
    assert.match(diagnosis.hint, /AWS IAM GRANT "orders_app" TO/);
  });

  it('on RDS, RDS’s explanations: its PAM refusal, and RDS Proxy’s "IAM authentication failed" is no DSQL diagnosis', () => {
    const rds = {
      user: 'app_user',
      facts: { signingHost: 'orders.c9akciq32.eu-west-1.rds.amazonaws.com:5432' },
    };
    const pam = explain({ code: '28000', message: 'PAM authentication failed for user "app_user"' }, rds);
    assert.equal(pam.code, 'RDS_IAM_FAILED');
    const proxy = explain(
      {
        code: '28000',
        message:
          'IAM authentication failed for user app_user. Check the IAM token for this user and try again.',
      },
      rds,
    );
    assert.notEqual(proxy.code, 'DSQL_CREDENTIALS_EXPIRED');
  });
});

describe('pool lifetimes under the 60-minute session cap', () => {
  it('lifetimeUnderCap keeps a lifetime that fits, and shortens 0 and longer ones to the longest that fits', () => {
    assert.equal(lifetimeUnderCap(1800, 3600, 0.1), 1800);
    assert.equal(lifetimeUnderCap(7200, 3600, 0.1), 2945);
    assert.equal(lifetimeUnderCap(0, 3600, 0.1), 2945);
    assert.equal(lifetimeUnderCap(7200, undefined, 0.1), 7200);
    // The longest spread lifetime of the longest that fits ends a tenth of the cap early.
    assert.ok(2945 * 1.1 <= 3600 * 0.9);
  });

  it('pgConfig: 30 minutes (±10%) already fit; createPool shortens a longer lifetime asked for, with a warning', async () => {
    assert.equal((await pgConfig(dsqlUrl('admin'), offline())).maxLifetimeSeconds, 1800);
    const warnings: string[] = [];
    const pool = await createPool(dsqlUrl('admin'), {
      settings: { ...offline(), logger: { warn: (message) => warnings.push(message) } },
      pool: { maxLifetimeSeconds: 7200 },
    });
    await pool.end();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0] ?? '',
      /maxLifetimeSeconds 7200 .* session cap of 3600 s: connections live about 2945 s/,
    );
    const rdsWarnings: string[] = [];
    const rds = await createPool(
      'postgresql://app_user@orders.c9akciq32.eu-west-1.rds.amazonaws.com/orders',
      {
        settings: { ...offline(), logger: { warn: (message) => rdsWarnings.push(message) } },
        pool: { maxLifetimeSeconds: 7200 },
      },
    );
    await rds.end();
    assert.deepEqual(rdsWarnings, [], 'RDS has no session cap');
  });

  it('postgres.js: its own 30–60 minutes would meet the cap; each connection gets 30 minutes ±10% instead', async () => {
    const options = await postgresOptions(dsqlUrl('admin'), offline());
    assert.equal(typeof options.max_lifetime, 'function');
    const lifetimes = Array.from({ length: 500 }, () => (options.max_lifetime as () => number)());
    assert.ok(
      Math.min(...lifetimes) >= 1620 && Math.max(...lifetimes) <= 1980,
      `${Math.min(...lifetimes)}..${Math.max(...lifetimes)}`,
    );
    assert.ok(
      new Set(lifetimes).size > 100,
      'spread, so that connections opened together do not close together',
    );
    const rds = await postgresOptions(
      'postgresql://app_user@orders.c9akciq32.eu-west-1.rds.amazonaws.com/orders',
      offline(),
    );
    assert.equal(rds.max_lifetime, undefined, 'RDS: postgres.js keeps its own');
  });
});

describe('Aurora DSQL with the real DsqlSigner and the default AWS chain, against the emulator', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql' });
  });
  after(() => emulator?.stop());

  it('createPool: admin logs in with a DbConnectAdmin token, app_user with a DbConnect token, one signing each', async () => {
    const before = emulator.counters().gateway.loginsAccepted;
    const result = await runScenario('dsql.ts', ['pool'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, {
      admin: { role: 'admin', action: 'DbConnectAdmin', fetches: 1 },
      app_user: { role: 'app_user', action: 'DbConnect', fetches: 1 },
    });
    assert.equal(emulator.counters().gateway.loginsAccepted - before, 2);
  });

  it('postgres.js (pg-passwordless/postgres): admin and app_user', async () => {
    const result = await runScenario('dsql.ts', ['postgres-js'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, {
      admin: { role: 'admin', action: 'DbConnectAdmin' },
      app_user: { role: 'app_user', action: 'DbConnect' },
    });
  });

  it('the preload: an unmodified pg app logs in as the role of DATABASE_URL', async () => {
    assertBuildIsCurrent();
    for (const user of ['app_user', 'admin']) {
      const { host, port } = emulator.gateway;
      const run = await runApp(
        'pg-pool.mjs',
        clientEnv(emulator, {
          DATABASE_URL: `postgresql://${user}@${host}:${port}/${emulator.backend.database}`,
        }),
      );
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.deepEqual(run.output, { role: user });
    }
  });
});

describe('Aurora DSQL ends sessions at its cap: the pools log in again', () => {
  let emulator: Emulator;
  before(async () => {
    // The cap scaled down from 60 minutes to 1 second, so that the test sees it.
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql', dsqlSessionCapSeconds: 1 });
  });
  after(() => emulator?.stop());

  it('createPool: the server ends the idle connection, the pool drops it, the next query logs in with the cached token', async () => {
    const before = emulator.counters().gateway;
    const result = await runScenario('dsql.ts', ['pool-after-cap'], {
      ...emulator.env,
      SCENARIO_USERS: 'app_user',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output.roles, ['app_user', 'app_user']);
    assert.match(String(result.output.poolError), /Connection terminated unexpectedly/);
    assert.equal(result.output.fetches, 1, 'the second login used the cached token');
    const after = emulator.counters().gateway;
    assert.ok(after.sessionsCapped - before.sessionsCapped >= 1);
    assert.equal(after.loginsAccepted - before.loginsAccepted, 2);
  });

  it('postgres.js: the connection closed at the cap, the next query opens a new one', async () => {
    const before = emulator.counters().gateway.loginsAccepted;
    const result = await runScenario('dsql.ts', ['postgres-js-after-cap'], {
      ...emulator.env,
      SCENARIO_USERS: 'admin',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, { roles: ['admin', 'admin'], fetches: 1 });
    assert.equal(emulator.counters().gateway.loginsAccepted - before, 2);
  });
});
