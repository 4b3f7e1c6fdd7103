// The preload as users run it: `node --import pg-passwordless/register app` (and the NODE_OPTIONS
// form), with plain `node` and no tsx, so that the specifier resolves through the package's exports to
// the built dist/register/index.js, exactly as it does once published. The apps in ./apps are a few
// lines each and never mention pg-passwordless. The emulator's NODE_EXTRA_CA_CERTS is left out, so only
// the library's TLS options (PGSSLROOTCERT) can verify the gateway: a login proves they were applied.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { cleanEnv } from '../helpers/run-scenario.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const apps = fileURLToPath(new URL('./apps/', import.meta.url));
const source = fileURLToPath(new URL('../../src/register/', import.meta.url));
const built = fileURLToPath(new URL('../../dist/register/index.js', import.meta.url));

interface AppRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the app printed last, if any. */
  output: Record<string, unknown>;
}

/**
 * Runs an app in its own process with plain node: `--import pg-passwordless/register` (the default),
 * the same through NODE_OPTIONS, the built file by its URL (for a working folder outside the
 * repository), or no preload at all.
 */
function runApp(
  app: string,
  env: Record<string, string>,
  options: { preload?: 'flag' | 'NODE_OPTIONS' | 'file-url' | 'none'; cwd?: string } = {},
): Promise<AppRun> {
  const preload = options.preload ?? 'flag';
  const args =
    preload === 'flag'
      ? ['--import', 'pg-passwordless/register']
      : preload === 'file-url'
        ? ['--import', pathToFileURL(built).href]
        : [];
  const base = cleanEnv();
  // The test runner's own variables are not the app's.
  delete base.NODE_OPTIONS;
  delete base.NODE_TEST_CONTEXT;
  const childEnv: Record<string, string | undefined> = { ...base, ...env };
  if (preload === 'NODE_OPTIONS') childEnv.NODE_OPTIONS = '--import=pg-passwordless/register';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, join(apps, app)], {
      cwd: options.cwd ?? root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} timed out; stderr: ${stderr}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      let output: Record<string, unknown> = {};
      try {
        output = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        // left empty: the assertions show stdout and stderr
      }
      resolve({ code, stdout, stderr, output });
    });
  });
}

/** The client environment of an emulator, without the CA that would let pg verify the gateway on its own. */
function clientEnv(
  emulator: Emulator,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ...emulator.env,
    NODE_EXTRA_CA_CERTS: undefined,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function identityRequests(emulator: Emulator): number {
  return emulator.counters().identityRequests;
}

function assertRole(run: AppRun, expected: Record<string, unknown>): void {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual(run.output, expected, run.stderr);
}

before(() => {
  // The published form is the built file: a stale or missing build would test old code.
  assert.ok(existsSync(built), `${built} is missing: run npm run build first`);
  const builtAt = statSync(built).mtimeMs;
  for (const file of readdirSync(source)) {
    assert.ok(
      statSync(join(source, file)).mtimeMs <= builtAt,
      `src/register/${file} is newer than the build: run npm run build first`,
    );
  }
});

describe('preload on azure: unmodified apps log in as the managed identity', () => {
  const legacy = { name: 'legacy_app', password: 'legacy-app-password' };
  let emulator: Emulator;
  let ownPasswordUrl: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure', passwordRole: legacy });
    const { host, port } = emulator.gateway;
    ownPasswordUrl = `postgresql://${legacy.name}:${legacy.password}@${host}:${port}/${emulator.backend.database}`;
  });
  after(() => emulator?.stop());

  for (const [app, what] of [
    ['pg-pool.mjs', 'raw pg, ESM, a Pool from DATABASE_URL as connectionString'],
    ['pg-client.cjs', 'raw pg, CommonJS, new Client() from PGHOST/PGPORT/PGUSER'],
    ['knex.mjs', 'knex with DATABASE_URL'],
    ['sequelize.cjs', 'Sequelize (CommonJS) with DATABASE_URL'],
  ] as const) {
    it(`${what}: node --import pg-passwordless/register ${app}`, async () => {
      assertRole(await runApp(app, clientEnv(emulator)), { role: 'orders-api' });
    });
  }

  it('NODE_OPTIONS=--import=pg-passwordless/register works the same', async () => {
    assertRole(await runApp('pg-client.cjs', clientEnv(emulator), { preload: 'NODE_OPTIONS' }), {
      role: 'orders-api',
    });
  });

  it("an app started from another folder: its pg is found from the entry script's folder", async () => {
    assertRole(await runApp('pg-pool.mjs', clientEnv(emulator), { preload: 'file-url', cwd: tmpdir() }), {
      role: 'orders-api',
    });
  });

  it('without the preload the same app cannot log in (the token comes from the preload)', async () => {
    const run = await runApp('pg-pool.mjs', clientEnv(emulator), { preload: 'none' });
    assert.notEqual(run.code, 0, run.stdout);
  });

  it('a connection to the target with its own password is left alone: no identity request', async () => {
    const before = identityRequests(emulator);
    assertRole(
      await runApp(
        'pg-pool.mjs',
        clientEnv(emulator, { DATABASE_URL: ownPasswordUrl, NODE_EXTRA_CA_CERTS: emulator.caPath }),
      ),
      {
        role: legacy.name,
      },
    );
    assert.equal(identityRequests(emulator) - before, 0);
  });

  it("gate off: the app's own password is used, and no identity request is sent", async () => {
    const before = identityRequests(emulator);
    const off = { PG_PASSWORDLESS_ENABLED: 'false', NODE_EXTRA_CA_CERTS: emulator.caPath };
    assertRole(await runApp('pg-pool.mjs', clientEnv(emulator, { ...off, DATABASE_URL: ownPasswordUrl })), {
      role: legacy.name,
    });
    // And with no password of its own, nothing is supplied: the gateway refuses the login.
    const refused = await runApp('pg-pool.mjs', clientEnv(emulator, off));
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.equal(identityRequests(emulator) - before, 0);
  });

  describe('with a second, local database on another port', () => {
    const localRole = { name: 'local_dev', password: 'local-dev-password' };
    let local: Emulator;
    before(async () => {
      local = await startEmulator({
        cloud: 'azure',
        backend: 'pglite',
        allowInsecure: true,
        passwordRole: localRole,
      });
    });
    after(() => local?.stop());

    it('keeps its own password (and its own TLS choice) while the target gets the token', async () => {
      const { host, port } = local.gateway;
      const localUrl = `postgresql://${localRole.name}:${localRole.password}@${host}:${port}/${local.backend.database}?sslmode=disable`;
      const run = await runApp('two-databases.mjs', clientEnv(emulator, { LOCAL_DATABASE_URL: localUrl }));
      assertRole(run, { main: 'orders-api', local: localRole.name });
      assert.equal(identityRequests(local), 0);
    });
  });
});

for (const [cloud, role] of [
  ['aws', 'app_user'],
  ['gcp', 'orders@pg-passwordless-emulator.iam'],
] as Array<[CloudName, string]>) {
  describe(`preload on ${cloud}, real SDK against the emulator`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud });
    });
    after(() => emulator?.stop());

    it(`raw pg, ESM: logs in as ${role}`, async () => {
      assertRole(await runApp('pg-pool.mjs', clientEnv(emulator)), { role });
    });
  });
}

describe('preload misconfigured: the process stops before the app runs, with the code and hint', () => {
  const on = {
    PG_PASSWORDLESS_ENABLED: 'true',
    PG_PASSWORDLESS_AZURE_ENABLED: 'true',
    DATABASE_URL: 'postgresql://orders-api@db.example.com/orders',
  };
  for (const [what, env, code, hint] of [
    [
      'sslmode that does not verify',
      { ...on, PGSSLMODE: 'require' },
      'TLS_REQUIRED',
      /Hint: Use sslmode=verify-full/,
    ],
    ['unknown sslmode', { ...on, PGSSLMODE: 'verify-everything' }, 'CONFIG_INVALID', /Hint: Use one of/],
    ['no target', { ...on, DATABASE_URL: '' }, 'URL_INVALID', /Hint: .*set PGHOST/],
    [
      'no plugin switched on',
      { ...on, PG_PASSWORDLESS_AZURE_ENABLED: 'false' },
      'CONFIG_INVALID',
      /PG_PASSWORDLESS_AZURE_ENABLED/,
    ],
    [
      'a gate that is not a boolean',
      { ...on, PG_PASSWORDLESS_ENABLED: 'maybe' },
      'CONFIG_INVALID',
      /Hint: Use true or false/,
    ],
  ] as const) {
    it(`${what}: ${code}`, async () => {
      const run = await runApp('pg-pool.mjs', env);
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.stdout, '', 'the app must not have started');
      assert.match(run.stderr, /pg-passwordless\/register could not start: /);
      assert.match(run.stderr, new RegExp(`code: '${code}'`));
      assert.match(run.stderr, hint);
    });
  }
});
