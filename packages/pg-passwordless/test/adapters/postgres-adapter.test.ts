import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import postgres from 'postgres';
import { postgresOptions, toPostgresOptions } from '../../src/adapters/postgres.ts';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import { parseConnectionUrl, type Settings, type TokenCredentialLike } from '../../src/index.ts';
import { cleanEnv, runScenario } from '../helpers/run-scenario.ts';

const scenarioPath = fileURLToPath(new URL('../scenarios/postgres-js.ts', import.meta.url));
const SECRET = 'eyJ0eXAiOiJKV1QifQ.postgres-js-adapter-test-token.c2ln';

/** A credential standing in for the Azure SDK: a fixed token, or failures until `fail` is turned off. */
function scriptedCredential(token = SECRET) {
  const state = { fail: false, calls: 0 };
  const credential: TokenCredentialLike = {
    getToken: async () => {
      state.calls++;
      if (state.fail) throw Object.assign(new Error('identity endpoint down'), { statusCode: 400 });
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return { credential, state };
}

/** Settings for the emulator's database with a scripted credential and a private cache. */
function scriptedSettings(emulator: Emulator, credential: TokenCredentialLike): Settings {
  return {
    azure: { enabled: true, credential },
    env: emulator.env,
    caches: createCacheRegistry(),
    logger: { warn: () => {} },
    tokenCache: { timeoutMs: 1_500 },
  };
}

describe('toPostgresOptions: what postgres.js is given', () => {
  const target = parseConnectionUrl('postgresql://app@db.example.com:6432/orders?application_name=from-url');

  it('startup parameters go into connection, postgres.js options stay top-level, the rest is left out', () => {
    const warnings: string[] = [];
    const options = toPostgresOptions(
      target,
      { application_name: 'orders-api', statement_timeout: 5000, max: 7, keepAlive: true },
      { warn: (message) => warnings.push(message) },
    );
    assert.deepEqual(
      { ...options },
      {
        host: 'db.example.com',
        port: 6432,
        database: 'orders',
        username: 'app',
        max: 7,
        connection: { application_name: 'orders-api', statement_timeout: 5000 },
      },
    );
    assert.deepEqual(warnings, ['postgres.js has no option for "keepAlive"; left out.']);
  });

  it('the token handle is not enumerable; pass and the pre-connect hook survive a spread', async () => {
    const handle = {
      getToken: async () => SECRET,
      invalidate: async () => ({ renewed: true }),
      expiresAtMs: () => undefined,
      stats: () => ({}) as never,
      on: () => () => {},
    };
    const options = toPostgresOptions(target, {
      user: 'orders-api',
      password: () => handle.getToken(),
      ssl: { rejectUnauthorized: true },
      token: handle,
    });
    assert.equal(options.token, handle);
    assert.ok(!Object.keys(options).includes('token'));
    const spread = { ...options };
    assert.equal(typeof spread.pass, 'function');
    assert.equal(typeof spread.socket, 'function');
    assert.equal(await spread.pass?.(), SECRET);
    assert.equal(spread.username, 'orders-api');
    assert.doesNotMatch(JSON.stringify(options), /postgres-js-adapter-test-token/);
    assert.doesNotMatch(inspect(options, { showHidden: true, depth: 10 }), /postgres-js-adapter-test-token/);
  });
});

describe('postgresOptions refuses to send a token over unverified TLS', () => {
  for (const [label, url, env] of [
    ['sslmode=require in the URL', 'postgresql://app@db.example.com/orders?sslmode=require', {}],
    ['sslmode=prefer in the URL', 'postgresql://app@db.example.com/orders?sslmode=prefer', {}],
    ['PGSSLMODE=no-verify', 'postgresql://app@db.example.com/orders', { PGSSLMODE: 'no-verify' }],
    ['sslmode=disable in the URL', 'postgresql://app@db.example.com/orders?sslmode=disable', {}],
  ] as const) {
    it(`${label}: TLS_REQUIRED, and no token is fetched`, async () => {
      const { credential, state } = scriptedCredential();
      await assert.rejects(
        postgresOptions(url, { azure: { enabled: true, credential }, env, caches: createCacheRegistry() }),
        (error: { code?: string; hint?: string }) => {
          assert.equal(error.code, 'TLS_REQUIRED');
          assert.match(error.hint ?? '', /verify-full/);
          return true;
        },
      );
      assert.equal(state.calls, 0);
    });
  }
});

describe('postgres.js against the emulator', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(() => emulator?.stop());

  it('the real Azure SDK: logs in over verified TLS, and no rendering of the options shows the token', async () => {
    const result = await runScenario('postgres-js.ts', ['leak'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, {
      role: 'orders-api',
      tokenShown: false,
      tokenEnumerable: false,
      passSurvivesSpread: true,
      sslVerified: true,
    });
  });

  it('a cold outage fails the queries with the typed error at once, and the same pool logs in after', async () => {
    const { credential, state } = scriptedCredential();
    state.fail = true;
    const options = await postgresOptions(
      emulator.env.DATABASE_URL ?? '',
      scriptedSettings(emulator, credential),
    );
    const sql = postgres({ ...options, max: 2 });
    const connectionsBefore = emulator.counters().gateway.connections;
    try {
      const results = await Promise.allSettled([sql`select 1`, sql`select 2`, sql`select 3`]);
      assert.deepEqual(
        results.map((result) => result.status === 'rejected' && (result.reason as { code?: string }).code),
        ['TOKEN_ENDPOINT_FAILED', 'TOKEN_ENDPOINT_FAILED', 'TOKEN_ENDPOINT_FAILED'],
      );
      const opened = emulator.counters().gateway.connections - connectionsBefore;
      assert.equal(opened, 0, 'no socket is opened without a token');
      state.fail = false;
      // The scripted token is no Entra token: the gateway refuses it, which proves the connection got
      // past the failed fetch and logged in again (a connection stuck in "connecting" would hang here).
      await assert.rejects(sql`select 1`, (error: { code?: string }) => error.code === '28P01');
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('the real Azure SDK, cold outage: typed error within the budget, no unhandled rejection, then recovery', async () => {
    emulator.setFaults({ status: 503 });
    const result = await runPhased(emulator, 'cold-outage', () => emulator.clearFaults());
    emulator.clearFaults();
    assert.equal(result.code, 'TOKEN_ENDPOINT_FAILED', JSON.stringify(result));
    assert.equal(result.unhandled, 0);
    assert.ok((result.elapsedMs as number) < 10_000 + 1_000, `failed after ${result.elapsedMs} ms`);
    assert.equal(result.recoveredAs, emulator.env.PGUSER);
  });
});

describe('postgres.js pool across token rotation, real Azure SDK', () => {
  const tokenLifetimeSeconds = 20;
  const durationMs = 45_000; // more than two token lifetimes, under a minute
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure', tokenLifetimeSeconds });
  });
  after(() => emulator?.stop());

  it(`runs queries for ${durationMs / 1000} s over ${tokenLifetimeSeconds} s tokens with no failure`, async (t) => {
    const before = emulator.counters();
    const result = await runScenario(
      'postgres-js.ts',
      ['rotation'],
      { ...emulator.env, SCENARIO_DURATION_MS: String(durationMs) },
      durationMs + 30_000,
    );
    assert.equal(result.code, 0, result.stderr);
    const after = emulator.counters();
    const { queries, failed, errors, tokensSent } = result.output as {
      queries: number;
      failed: number;
      errors: string[];
      tokensSent: number;
    };
    t.diagnostic(
      `${queries} queries, ${failed} failed; ${tokensSent} tokens sent; identity issued ${after.tokensIssued - before.tokensIssued}; ` +
        `${after.gateway.loginsAccepted - before.gateway.loginsAccepted} logins`,
    );
    assert.equal(failed, 0, `failed queries: ${errors.join(', ')}`);
    assert.ok(queries > 100, `only ${queries} queries ran`);
    const tokensIssued = after.tokensIssued - before.tokensIssued;
    const logins = after.gateway.loginsAccepted - before.gateway.loginsAccepted;
    // 45 s of 20 s tokens, renewed at 75 % of their life: at least 3 tokens issued and sent.
    assert.ok(tokensIssued >= 3, `the identity endpoint issued ${tokensIssued} tokens`);
    assert.ok(tokensSent >= 3, `logins used ${tokensSent} distinct tokens`);
    assert.ok(logins > 10, `only ${logins} logins: max_lifetime did not recycle connections`);
    assert.equal(after.gateway.loginsRejected - before.gateway.loginsRejected, 0);
  });
});

/**
 * Runs a scenario in two phases: when it prints `phase`, `between` changes the emulator and a flag
 * file tells the scenario to go on. Returns the facts it printed last.
 */
function runPhased(
  emulator: Emulator,
  scenario: string,
  between: () => void,
): Promise<Record<string, unknown>> {
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-postgres-js-'));
  const flag = join(folder, 'go-on');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', scenarioPath, scenario], {
      env: { ...cleanEnv(), ...emulator.env, SCENARIO_FLAG: flag },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let changed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!changed && stdout.includes('"phase"')) {
        changed = true;
        between();
        writeFileSync(flag, '');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(folder, { recursive: true, force: true });
      try {
        resolve({ exit: code, ...(JSON.parse(stdout.trim().split('\n').pop() ?? '') as object) });
      } catch {
        reject(new Error(`no result (exit ${code}): ${stdout}\n${stderr}`));
      }
    });
  });
}
