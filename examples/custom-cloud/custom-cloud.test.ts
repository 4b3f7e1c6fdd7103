// A cloud defined outside the package (./http-token-cloud.mjs) gets everything a built-in one gets, with
// the library unchanged: createPool and its pool guard, the preload, and the CLI's token, exec, proxy and
// doctor. The emulator plays Azure: its App Service managed-identity endpoint hands out the tokens and its
// gateway checks them as Azure Database for PostgreSQL would. The emulator's switch for the built-in azure
// cloud is dropped everywhere, and where the CLI and the preload run so are the App Service variables
// (the cloud reads HTTP_TOKEN_URL and HTTP_TOKEN_HEADER instead): the only token to be had is this cloud's.
// The CLI, the preload and the README's code run as users run them: plain node, the built package. The
// tests in code run here, through tsx, on the library's source.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { type CloudDefinition, createCacheRegistry, resolveConnection } from 'pg-passwordless';
import { createPool } from 'pg-passwordless/pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import type { DoctorReport, DoctorStep } from '../../packages/pg-passwordless/src/doctor/report.ts';
import {
  type CliResult,
  repoRoot,
  runCli,
  runProgram,
  startCli,
  startProgram,
} from '../../packages/pg-passwordless/test/cli/run-cli.ts';
import { cleanEnv } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const here = fileURLToPath(new URL('./', import.meta.url));
/** As a user names it in PG_PASSWORDLESS_PLUGINS, relative to the folder the app runs in (the repository). */
const PLUGIN = './examples/custom-cloud/http-token-cloud.mjs';
const AZURE_POSTGRES = 'https://ossrdbms-aad.database.windows.net';
const US_GOV_POSTGRES = 'https://ossrdbms-aad.database.usgovcloudapi.net';
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\./;

let emulator: Emulator;
let cloud: CloudDefinition;
before(async () => {
  emulator = await startEmulator({ cloud: 'azure' });
  // Imported as the library imports a module named in PG_PASSWORDLESS_PLUGINS: its default export.
  cloud = ((await import(pathToFileURL(`${here}http-token-cloud.mjs`).href)) as { default: CloudDefinition })
    .default;
});
after(() => emulator?.stop());

/** The emulator's environment with the built-in azure cloud's switch dropped. */
function withoutAzure(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ...emulator.env,
    PG_PASSWORDLESS_AZURE_ENABLED: undefined,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => !!entry[1]));
}

/**
 * What the preload and the CLI run with: the cloud named in PG_PASSWORDLESS_PLUGINS, its own variables,
 * no App Service variables, and no NODE_EXTRA_CA_CERTS (the TLS the library builds from PGSSLROOTCERT is
 * what verifies the gateway).
 */
function processEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return withoutAzure({
    HTTP_TOKEN_URL: emulator.env.IDENTITY_ENDPOINT,
    HTTP_TOKEN_HEADER: emulator.env.IDENTITY_HEADER,
    IDENTITY_ENDPOINT: undefined,
    IDENTITY_HEADER: undefined,
    NODE_EXTRA_CA_CERTS: undefined,
    PG_PASSWORDLESS_PLUGINS: PLUGIN,
    ...overrides,
  });
}

/** A URL of the emulator's gateway for another role. */
function urlFor(role: string): string {
  return `postgresql://${role}@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;
}

/** Identity requests since the counter read `since`, each as the endpoint received it. */
function requestsSince(since: number) {
  const count = emulator.counters().identityRequests - since;
  return count === 0 ? [] : emulator.identityRequests().slice(-count);
}

/**
 * Runs code as an ES module with plain node, from this folder: `--eval` resolves './http-token-cloud.mjs'
 * from the working folder, and the packages from the repository's node_modules, as a user's file would.
 */
function evalModule(code: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, ['--input-type=module', '--eval', code], {
    cwd: here,
    env: { ...cleanEnv(), ...env, NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

/** Nothing printed looks like a token, and the endpoint's header secret never shows. */
function assertNoSecret(result: CliResult): void {
  for (const text of [result.stdout, result.stderr]) {
    assert.doesNotMatch(text, TOKEN_LIKE, 'no token printed');
    assert.ok(!text.includes(emulator.env.IDENTITY_HEADER as string), 'the header secret is not printed');
  }
}

describe('the http-token cloud in code: createPool and the pool guard', () => {
  const settings = (more: object = {}) => ({
    plugins: [cloud],
    env: withoutAzure(),
    caches: createCacheRegistry(),
    ...more,
  });

  it('is the only cloud that runs, and says where its token comes from', async () => {
    const { ran, cloud: used } = await resolveConnection(emulator.env.DATABASE_URL as string, settings());
    assert.deepEqual(ran, ['http-token']);
    assert.equal(used?.cloud.title, 'PostgreSQL behind an HTTP token endpoint');
    assert.deepEqual(used?.identity.facts, {
      endpoint: emulator.env.IDENTITY_ENDPOINT,
      resource: AZURE_POSTGRES,
    });
  });

  it('logs in with the endpoint’s token; after the server revokes it, the guard renews it once and logs in', async () => {
    const before = emulator.counters();
    const pool = await createPool(emulator.env.DATABASE_URL as string, {
      pg,
      settings: settings(),
      pool: { max: 1 },
    });
    try {
      const first = await pool.connect();
      assert.equal((await first.query('select current_user')).rows[0].current_user, 'orders-api');
      first.release(true); // closed, not kept: the next query logs in again
      assert.ok(emulator.revokeAcceptedTokens() >= 1, 'the token had logged in');
      const { rows } = await pool.query('select current_user');
      assert.equal(rows[0].current_user, 'orders-api');
      const now = emulator.counters();
      // No SDK cache stands between the cloud and the endpoint: the renewal is a new token, and it is let in.
      assert.equal(now.tokensIssued - before.tokensIssued, 2);
      assert.equal(now.gateway.loginsRejected - before.gateway.loginsRejected, 1);
      assert.equal(now.gateway.loginsAccepted - before.gateway.loginsAccepted, 2);
      const stats = pool.token?.stats();
      assert.deepEqual(
        { fetches: stats?.fetches, invalidations: stats?.invalidations, same: stats?.sameTokenReturns },
        { fetches: 2, invalidations: 1, same: 0 },
      );
      for (const request of requestsSince(before.identityRequests)) {
        assert.deepEqual(
          { path: request.path, query: request.query },
          { path: '/msi/token', query: { 'api-version': '2019-08-01', resource: AZURE_POSTGRES } },
        );
      }
    } finally {
      await pool.end();
    }
  });

  it('a role the server does not have: one renewal, then TOKEN_REJECTED; within 30 s no further request', async () => {
    const before = emulator.counters();
    const pool = await createPool(urlFor('reports'), { pg, settings: settings() });
    try {
      await assert.rejects(pool.query('select 1'), {
        code: 'TOKEN_REJECTED',
        message: /^The server refused a fresh token too: password authentication failed for user "reports"/,
      });
      await assert.rejects(pool.query('select 1'), {
        code: 'TOKEN_REJECTED',
        message: /renewed less than 30 s ago, so the login was not retried/,
      });
      const now = emulator.counters();
      assert.equal(now.tokensIssued - before.tokensIssued, 2, 'one token, one renewal, nothing more');
      assert.equal(now.gateway.loginsRejected - before.gateway.loginsRejected, 3);
    } finally {
      await pool.end();
    }
  });

  it('a 429 with Retry-After is retried once the endpoint’s wait is over', async () => {
    const since = emulator.counters().identityRequests;
    emulator.setFaults({ status: 429, retryAfterSeconds: 1, count: 1 });
    const pool = await createPool(emulator.env.DATABASE_URL as string, { pg, settings: settings() });
    try {
      assert.equal((await pool.query('select current_user')).rows[0].current_user, 'orders-api');
      const [throttled, retried] = requestsSince(since);
      assert.equal(requestsSince(since).length, 2);
      assert.ok((retried?.atMs ?? 0) - (throttled?.atMs ?? 0) >= 1_000, 'waited for Retry-After');
      assert.deepEqual(
        { fetches: pool.token?.stats().fetches, failures: pool.token?.stats().fetchFailures },
        { fetches: 2, failures: 1 },
      );
    } finally {
      emulator.clearFaults();
      await pool.end();
    }
  });

  it('a wrong header secret (set in code, over the environment): 401, not retried, with the hint', async () => {
    const since = emulator.counters().identityRequests;
    const pool = await createPool(emulator.env.DATABASE_URL as string, {
      pg,
      settings: settings({ 'http-token': { header: 'not-the-secret' } }),
    });
    try {
      const failure = await pool.query('select 1').then(
        () => assert.fail('logged in without a token'),
        (error: { code?: string; message: string; hint?: string }) => error,
      );
      assert.equal(failure.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(failure.message, /the identity endpoint answered 401\./);
      assert.match(failure.hint ?? '', /check HTTP_TOKEN_HEADER/);
      assert.equal(requestsSince(since).length, 1, 'a refusal is not retried');
    } finally {
      await pool.end();
    }
  });

  it('a hung request is aborted: the connect fails typed, and the next one after recovery succeeds', async () => {
    const since = emulator.counters().identityRequests;
    emulator.setFaults({ latencyMs: 3_000 });
    const pool = await createPool(emulator.env.DATABASE_URL as string, {
      pg,
      settings: settings({
        'http-token': { requestTimeoutMs: 300 },
        tokenCache: { retry: { maxAttempts: 2 } },
      }),
    });
    try {
      // Without the abort, the first answer (after 3 s, well within the 10 s budget) would log this in.
      await assert.rejects(pool.query('select 1'), {
        code: 'TOKEN_ENDPOINT_FAILED',
        message: /could not be reached \(TimeoutError\)/,
      });
      assert.equal(requestsSince(since).length, 2, 'two attempts, each aborted');
      emulator.clearFaults();
      assert.equal((await pool.query('select current_user')).rows[0].current_user, 'orders-api');
    } finally {
      emulator.clearFaults();
      await pool.end();
    }
  });

  it('no role in the URL nor PGUSER: USER_MISSING before any request', async () => {
    const since = emulator.counters().identityRequests;
    const { PGUSER: _user, ...env } = withoutAzure();
    const url = `postgresql://${emulator.gateway.host}:${emulator.gateway.port}/postgres`;
    await assert.rejects(createPool(url, { pg, settings: { ...settings(), env } }), {
      code: 'USER_MISSING',
      message: /The http-token cloud needs the role to log in as/,
    });
    assert.equal(emulator.counters().identityRequests, since);
  });
});

describe('the http-token cloud from PG_PASSWORDLESS_PLUGINS: the preload', () => {
  /** `node --import pg-passwordless/register app.mjs` from the repository, as a user runs it. */
  const runApp = (env: Record<string, string>) =>
    startProgram(
      process.execPath,
      ['--import', 'pg-passwordless/register', `${here}app.mjs`],
      // The test runner's own NODE_OPTIONS are not the app's.
      { ...env, NODE_OPTIONS: '' },
    ).done;

  it('an app that never mentions pg-passwordless logs in with the cloud’s token', async () => {
    const since = emulator.counters().identityRequests;
    const run = await runApp(processEnv());
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { role: 'orders-api' });
    assert.equal(requestsSince(since).length, 1, 'one token for the pool');
  });

  it('without the cloud named, the preload stops the app: no plugin would give a token', async () => {
    const run = await runApp(processEnv({ PG_PASSWORDLESS_PLUGINS: undefined }));
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /could not start: CONFIG_INVALID: PG_PASSWORDLESS_ENABLED=true, but no plugin is switched on/,
    );
  });
});

describe('the http-token cloud from PG_PASSWORDLESS_PLUGINS: token, exec, proxy', () => {
  it('token prints a token that psql logs in with', async () => {
    const result = await runCli(['token'], processEnv());
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trimEnd();
    assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'one JWT on one line');
    const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
      ...processEnv(),
      PGPASSWORD: token,
    });
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), 'orders-api');
  });

  it('exec -- psql runs with the connection and a current token', async () => {
    const result = await runCli(
      ['exec', '--', 'psql', '-X', '-At', '-c', 'select current_user'],
      processEnv(),
    );
    assertNoSecret(result);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'orders-api');
  });

  it('proxy: psql logs in through the URL it prints, with no password', async () => {
    const proxy = startCli(['proxy', '--listen', '127.0.0.1:0'], processEnv(), 60_000);
    try {
      await proxy.waitFor('connect with: ');
      const url = /connect with: (\S+)/.exec(proxy.stdout())?.[1] as string;
      assert.match(url, /^postgresql:\/\/orders-api@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
      const psql = await runProgram('psql', ['-X', '-At', '-d', url, '-c', 'select current_user'], {});
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), 'orders-api');
    } finally {
      proxy.child.kill('SIGTERM');
    }
    const stopped = await proxy.done;
    assertNoSecret(stopped);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});

describe('the http-token cloud from PG_PASSWORDLESS_PLUGINS: doctor --json', () => {
  const STEPS = ['settings', 'credential', 'token', 'dns', 'tcp', 'tls', 'login', 'query'];

  async function doctor(args: string[], env: Record<string, string>): Promise<DoctorReport> {
    const result = await runCli(['doctor', ...args, '--json'], env);
    assertNoSecret(result);
    const report = JSON.parse(result.stdout) as DoctorReport;
    assert.deepEqual(
      report.steps.map((step) => step.step),
      STEPS,
    );
    assert.equal(result.code, report.ok ? 0 : 1);
    return report;
  }
  const stepOf = (report: DoctorReport, name: string) =>
    report.steps.find((step) => step.step === name) as DoctorStep;

  it('healthy: every step ok; the credential step is the cloud’s own description', async () => {
    const report = await doctor([], processEnv());
    assert.deepEqual(
      report.steps.filter((step) => step.status !== 'ok'),
      [],
    );
    const plugins = (stepOf(report, 'settings').data?.plugins ?? []) as string[];
    assert.ok(plugins.includes('http-token') && !plugins.includes('azure'), plugins.join(', '));
    const credential = stepOf(report, 'credential');
    assert.equal(
      credential.detail,
      'http-token: the token endpoint in HTTP_TOKEN_URL, the default resource, X-IDENTITY-HEADER in HTTP_TOKEN_HEADER (set, not shown); ' +
        `endpoint ${emulator.env.IDENTITY_ENDPOINT}, resource ${AZURE_POSTGRES}`,
    );
    assert.deepEqual(credential.data?.skipped, []);
    assert.equal(credential.data?.cloud, 'http-token');
    assert.equal(stepOf(report, 'token').data?.audience, AZURE_POSTGRES);
    assert.equal(stepOf(report, 'query').data?.currentUser, 'orders-api');
  });

  it('a role the server does not have: ROLE_MISSING with the cloud’s hint', async () => {
    const report = await doctor([urlFor('reports')], processEnv());
    const login = stepOf(report, 'login');
    assert.equal(login.status, 'FAIL');
    assert.equal(login.code, 'ROLE_MISSING');
    assert.match(login.detail, /password authentication failed for user "reports"/);
    assert.equal(
      login.hint,
      `Create the role "reports" on the server for the identity that ${emulator.env.IDENTITY_ENDPOINT} answers for, ` +
        'or put the role that identity already has in the URL (postgresql://<role>@<host>/<database>).',
    );
    assert.equal(stepOf(report, 'token').status, 'ok', 'the token itself is fine');
  });

  it('a token for the wrong resource: the cloud names the refusal HTTP_TOKEN_WRONG_RESOURCE', async () => {
    const report = await doctor([], processEnv({ HTTP_TOKEN_RESOURCE: US_GOV_POSTGRES }));
    assert.match(stepOf(report, 'credential').detail, /the resource in HTTP_TOKEN_RESOURCE/);
    assert.equal(stepOf(report, 'token').data?.audience, US_GOV_POSTGRES);
    const login = stepOf(report, 'login');
    assert.equal(login.code, 'HTTP_TOKEN_WRONG_RESOURCE');
    assert.match(
      login.detail,
      new RegExp(`the endpoint issued the token for ${US_GOV_POSTGRES}, the server wants ${AZURE_POSTGRES}$`),
    );
    assert.match(login.hint ?? '', new RegExp(`^Set HTTP_TOKEN_RESOURCE=${AZURE_POSTGRES} `));
  });

  it('no endpoint configured: the settings fail closed, and the credential step says what to set', async () => {
    const report = await doctor([], processEnv({ HTTP_TOKEN_URL: undefined }));
    const settings = stepOf(report, 'settings');
    assert.deepEqual([settings.status, settings.code], ['FAIL', 'CONFIG_INVALID']);
    assert.match(settings.detail, /The http-token cloud has no token endpoint/);
    const credential = stepOf(report, 'credential');
    assert.deepEqual([credential.status, credential.code], ['FAIL', 'CREDENTIAL_UNAVAILABLE']);
    assert.match(credential.detail, /^http-token: no token endpoint: HTTP_TOKEN_URL and IDENTITY_ENDPOINT/);
    assert.match(credential.hint ?? '', /Set HTTP_TOKEN_URL/);
    assert.equal(stepOf(report, 'token').status, 'skip');
  });
});

describe('the module as published, and the README section about it', () => {
  const readme = readFileSync(`${repoRoot}packages/pg-passwordless/README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Adding a cloud\n'));
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);

  it('type-checks (JSDoc, checkJs) against the package’s published types', () => {
    const tsc = spawnSync(
      process.execPath,
      [`${repoRoot}node_modules/typescript/bin/tsc`, '-p', `${here}tsconfig.json`],
      { encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('the README shows the cloud’s definition as the module has it', () => {
    assert.ok(section.length > 1, 'the README has an "Adding a cloud" section');
    const module = readFileSync(`${here}http-token-cloud.mjs`, 'utf8');
    assert.match(blocks[0] ?? '', /^export default defineCloud\(\{/);
    assert.ok(module.includes(blocks[0] as string), 'the excerpt is the module’s text, word for word');
  });

  it('the README’s registration in code runs as written, next to the module', async () => {
    const code = blocks[1] ?? '';
    assert.match(code, /plugins: \[httpTokenCloud\]/);
    // Without the gate: a cloud named in code needs none.
    const run = await evalModule(code, withoutAzure({ PG_PASSWORDLESS_ENABLED: undefined }));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), "{ current_user: 'orders-api' }");
  });
});
