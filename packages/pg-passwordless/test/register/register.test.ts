// The preload as users run it: `node --import pg-passwordless/register app` (and the NODE_OPTIONS
// form), with plain `node` and no tsx, so that the specifier resolves through the package's exports to
// the built dist/register/index.js, exactly as it does once published. The apps in ./apps are a few
// lines each and never mention pg-passwordless. The emulator's NODE_EXTRA_CA_CERTS is left out, so only
// the library's TLS options (PGSSLROOTCERT) can verify the gateway: a login proves they were applied.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { type AppRun, assertBuildIsCurrent, clientEnv, runApp } from './run-app.ts';

function identityRequests(emulator: Emulator): number {
  return emulator.counters().identityRequests;
}

function assertRole(run: AppRun, expected: Record<string, unknown>): void {
  assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual(run.output, expected, run.stderr);
}

// The published form is the built file: a stale or missing build would test old code.
before(assertBuildIsCurrent);

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

  it("an app's TLS that would not verify the server is refused at connect with TLS_REQUIRED; no socket opens", async () => {
    const connections = emulator.counters().gateway.connections;
    // No PGSSLMODE: pg then reads pg.defaults.ssl, the last of the app's ways (the library verifies by default).
    const run = await runApp('weakened-tls.cjs', clientEnv(emulator, { PGSSLMODE: undefined }));
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const events = run.output.events as string[];
    assert.equal(events.length, 6, run.stdout);
    for (const event of events) {
      assert.match(
        event,
        /: rejected PasswordlessError: The app turns .+ off .+\nHint: Remove .+ \[TLS_REQUIRED\]$/s,
      );
    }
    assert.equal(emulator.counters().gateway.connections, connections, 'a refused client opened a socket');
  });

  it('a token that cannot be had fails that connect with its typed error; the app retries as it would with pg', async () => {
    emulator.setFaults({ status: 400, count: 1 });
    let run: AppRun;
    try {
      const env = clientEnv(emulator, { FIRST_DATABASE: emulator.backend.database });
      run = await runApp('differential/failed-connect-retry.cjs', env);
    } finally {
      emulator.clearFaults();
    }
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const [first, ...rest] = run.output.events as string[];
    assert.match(first ?? '', /^first connect: rejected PasswordlessError: .+ \[TOKEN_ENDPOINT_FAILED\]/s);
    assert.deepEqual(rest, [
      'same client again: rejected Error: Client has already been connected. You cannot reuse a client.',
      "failing client 'end' event",
      'failing client end: resolved',
      'new client connect: resolved',
      'query: resolved [{"n":1}]',
      "new client 'end' event",
      'new client end: resolved',
    ]);
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

    it('verify-ca with the server’s own CA named: logs in (the name is not checked)', async () => {
      assertRole(await runApp('pg-pool.mjs', clientEnv(emulator, { PGSSLMODE: 'verify-ca' })), { role });
    });

    if (cloud === 'aws') {
      it('verify-ca with no CA named starts: the RDS bundle is the plugin’s private CA (the emulator is no RDS)', async () => {
        const run = await runApp(
          'pg-pool.mjs',
          clientEnv(emulator, { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: undefined }),
        );
        assert.doesNotMatch(run.stderr, /could not start/, 'the preload left the CA rule to the plugin');
        assert.notEqual(run.code, 0, 'the emulator’s certificate is not signed by an RDS CA');
        assert.match(run.stderr, /certificate/i);
      });
    }
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
    [
      'verify-ca with the public roots (no CA named)',
      { ...on, PGSSLMODE: 'verify-ca' },
      'TLS_REQUIRED',
      /Hint: Use sslmode=verify-full/,
    ],
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
    it(`${what}: ${code}, in one line and its hint, no stack trace`, async () => {
      assertStopped(await runApp('pg-pool.mjs', env), code, hint);
    });
  }

  it('the same through NODE_OPTIONS, for a CommonJS app', async () => {
    const env = { ...on, PG_PASSWORDLESS_AZURE_ENABLED: 'false' };
    const run = await runApp('pg-client.cjs', env, { preload: 'NODE_OPTIONS' });
    assertStopped(run, 'CONFIG_INVALID', /PG_PASSWORDLESS_AZURE_ENABLED/);
  });
});

/** The process stopped before the app's first line, saying only what is wrong and what to do. */
function assertStopped(run: AppRun, code: string, hint: RegExp): void {
  assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
  assert.equal(run.stdout, '', 'the app must not have started');
  const [first, second, ...rest] = run.stderr.split('\n');
  assert.match(first ?? '', new RegExp(`^pg-passwordless/register could not start: ${code}: \\S`));
  assert.doesNotMatch(first ?? '', /Hint:/);
  assert.match(second ?? '', /^Hint: /);
  assert.match(second ?? '', hint);
  // Nothing else: no stack, no source excerpt, no "Node.js v20" footer.
  assert.deepEqual(rest, [''], run.stderr);
}
