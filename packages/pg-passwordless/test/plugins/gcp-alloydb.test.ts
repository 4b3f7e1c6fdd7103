// AlloyDB for PostgreSQL in the gcp cloud (gcp.service 'alloydb', PG_PASSWORDLESS_GCP_SERVICE=alloydb):
// the real google-auth-library asks for AlloyDB's login scope, the emulator plays AlloyDB (its scopes,
// its user naming, its refusal text), with pg, the CLI (token, exec) and the doctor, over verified TLS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runCli, runProgram } from '../cli/run-cli.ts';
import { gcpDoctor } from '../helpers/gcp-doctor.ts';
import { gatewayClientConfig, tryLogin } from '../helpers/pg-client.ts';
import { runScenario } from '../helpers/run-scenario.ts';

const ACCOUNT = 'orders@shop-prod.iam.gserviceaccount.com';
const REPORTS = 'reports@shop-prod.iam.gserviceaccount.com';
const USER = 'orders@shop-prod.iam';
const ALLOYDB_LOGIN = 'https://www.googleapis.com/auth/alloydb.login';
const refused = (user: string) => `AlloyDB IAM user authentication failed for user "${user}"`;

describe('gcp AlloyDB: the login scope, the user naming and the refusals of AlloyDB', {
  concurrency: 1,
}, () => {
  let emulator: Emulator;

  before(async () => {
    emulator = await startEmulator({
      cloud: 'gcp',
      gcpService: 'alloydb',
      gcpProjectId: 'shop-prod',
      gcpServiceAccounts: [ACCOUNT, REPORTS],
    });
  });
  after(() => emulator?.stop());

  it('the emulator says it plays AlloyDB, and the real SDK asks the metadata server for alloydb.login', async () => {
    assert.equal(emulator.env.PG_PASSWORDLESS_GCP_SERVICE, 'alloydb');
    assert.equal(emulator.gcp?.service, 'alloydb');
    const before = emulator.identityRequests().length;
    const result = await runScenario('cloud.ts', ['pool'], {
      ...emulator.env,
      SCENARIO_USER: '',
      SCENARIO_CONNECTIONS: '10',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.role, USER);
    const token = emulator
      .identityRequests()
      .slice(before)
      .find((request) => request.path.endsWith('/token'));
    assert.equal(token?.query.scopes, ALLOYDB_LOGIN);
  });

  it('refuses a Cloud SQL login token and another account’s token with AlloyDB’s text; takes cloud-platform', async () => {
    const gcp = emulator.gcp;
    assert.ok(gcp);
    const cloudSql = gcp.issueToken(ACCOUNT, {
      scopes: ['https://www.googleapis.com/auth/sqlservice.login'],
    });
    const wrongScope = await tryLogin(gatewayClientConfig(emulator, USER, cloudSql));
    assert.equal(wrongScope.error?.message, refused(USER));
    assert.equal((wrongScope.error as { code?: string } | undefined)?.code, '28000');
    const other = await tryLogin(gatewayClientConfig(emulator, USER, gcp.issueToken(REPORTS)));
    assert.equal(other.error?.message, refused(USER));
    const platform = await tryLogin(
      gatewayClientConfig(
        emulator,
        USER,
        gcp.issueToken(ACCOUNT, { scopes: ['https://www.googleapis.com/auth/cloud-platform'] }),
      ),
    );
    assert.equal(platform.error, undefined, 'AlloyDB takes a cloud-platform token too');
    await platform.client?.end();
  });

  it('token: psql logs in with it, over verify-full', async () => {
    const token = await runCli(['token'], emulator.env);
    assert.equal(token.code, 0, token.stderr);
    const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
      ...emulator.env,
      PGPASSWORD: token.stdout.trim(),
    });
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), USER);
  });

  it('exec: psql prints the role', async () => {
    const result = await runCli(
      ['exec', '--', 'psql', '-X', '-At', '-c', 'select current_user'],
      emulator.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), USER);
  });

  it('exec with verify-ca and no CA named: refused, as for Cloud SQL (the cluster CA is the user’s to name)', async () => {
    const { PGSSLROOTCERT: _ca, ...noCaNamed } = emulator.env;
    const result = await runCli(['exec', '--', 'true'], { ...noCaNamed, PGSSLMODE: 'verify-ca' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TLS_REQUIRED: sslmode=verify-ca with the system trust store/);
  });

  it('doctor names AlloyDB and its scope, and explains a refused user with AlloyDB’s setup', async () => {
    const healthy = await gcpDoctor(emulator.env);
    assert.equal(healthy.code, 0, JSON.stringify(healthy.report));
    assert.match(
      healthy.step('credential').detail,
      /service AlloyDB, scope https:\/\/www\.googleapis\.com\/auth\/alloydb\.login/,
    );

    const { gateway } = emulator;
    const url = `postgresql://reports%40shop-prod.iam@${gateway.host}:${gateway.port}/postgres`;
    const wrongUser = await gcpDoctor(emulator.env, [url]);
    assert.equal(wrongUser.code, 1);
    const login = wrongUser.step('login');
    assert.equal(login.code, 'ALLOYDB_IAM_FAILED');
    assert.match(login.detail, /AlloyDB IAM user authentication failed for user "reports@shop-prod\.iam"/);
    assert.match(login.hint ?? '', /Log in as "orders@shop-prod\.iam"/);
  });

  it('a client set up for Cloud SQL against AlloyDB: the doctor says which service to set', async () => {
    const { code, step } = await gcpDoctor({ ...emulator.env, PG_PASSWORDLESS_GCP_SERVICE: 'cloudsql' });
    assert.equal(code, 1);
    const login = step('login');
    assert.equal(login.code, 'ALLOYDB_IAM_FAILED');
    assert.match(
      login.hint ?? '',
      /The server is AlloyDB, but the token was asked for Cloud SQL .*PG_PASSWORDLESS_GCP_SERVICE=alloydb/,
    );
  });

  it('an unknown service is a configuration error with the choices', async () => {
    const result = await runCli(['token'], { ...emulator.env, PG_PASSWORDLESS_GCP_SERVICE: 'spanner' });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /CONFIG_INVALID: PG_PASSWORDLESS_GCP_SERVICE must be cloudsql or alloydb, not "spanner"/,
    );
  });
});
