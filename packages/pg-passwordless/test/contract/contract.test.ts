import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { cleanEnv, runScenario } from '../helpers/run-scenario.ts';

const scenarioPath = fileURLToPath(new URL('../scenarios/contract.ts', import.meta.url));
const applicationNamePlugin = fileURLToPath(
  new URL('../../../../examples/third-party-plugin/application-name-plugin.ts', import.meta.url),
);

/**
 * Runs a scenario in two phases: when it prints `phase`, `between` changes the emulator, then the
 * scenario goes on. Returns the facts it printed last.
 */
function runPhased(
  emulator: Emulator,
  scenario: string,
  between: () => void,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-contract-'));
  const flag = join(folder, 'revoked');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', scenarioPath, scenario], {
      env: { ...cleanEnv(), ...emulator.env, ...env, SCENARIO_FLAG: flag },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('"phase"') && !stdout.includes('(changed)')) {
        stdout += '\n(changed)\n';
        between();
        writeFileSync(flag, '');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(folder, { recursive: true, force: true });
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ code, ...(JSON.parse(last) as Record<string, unknown>) });
      } catch {
        reject(new Error(`no result (exit ${code}): ${stdout}\n${stderr}`));
      }
    });
  });
}

for (const cloud of ['azure', 'aws', 'gcp'] as CloudName[]) {
  describe(`connection contract on ${cloud}, real SDK against the emulator`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud });
    });
    after(() => emulator?.stop());

    if (cloud === 'azure') {
      it('the README spread example connects, and the spread keeps the password function', async () => {
        const result = await runScenario('contract.ts', ['spread'], emulator.env);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.output, {
          role: 'orders-api',
          passwordSurvivesSpread: true,
          jsonHasPassword: false,
          tokenShown: false,
          tokenHandleFetches: 1,
        });
      });
    }

    it('a plugin from PG_PASSWORDLESS_PLUGINS reaches the server through createPool and a spread pgConfig', async () => {
      const result = await runScenario('contract.ts', ['application-name'], {
        ...emulator.env,
        PG_PASSWORDLESS_PLUGINS: applicationNamePlugin,
        APP_NAME: 'orders-api-v2',
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.output, { createPool: 'orders-api-v2', spread: 'orders-api-v2' });
    });

    it('after the server refuses the cached token, the retry is real or honestly absent', async () => {
      const tokensBefore = emulator.counters().tokensIssued;
      const rejectedBefore = emulator.counters().gateway.loginsRejected;
      const result = await runPhased(emulator, 'invalidate', () => {
        assert.ok(emulator.revokeAcceptedTokens() >= 1, 'the cached token had logged in');
      });
      const issued = emulator.counters().tokensIssued - tokensBefore;
      const rejected = emulator.counters().gateway.loginsRejected - rejectedBefore;
      if (cloud === 'azure') {
        // MSAL answers from its process-wide cache and @azure/identity offers no way past it: the
        // same token comes back, so the login is not retried with it.
        assert.equal(result.errorCode, 'TOKEN_REJECTED', JSON.stringify(result));
        assert.match(String(result.message), /returned the same token again/);
        assert.equal(rejected, 1, 'no second login with the refused token');
        assert.equal(issued, 1, 'one token for the first login, none since');
      } else {
        // The retry logs in with a token from credentials the identity endpoint newly issued.
        assert.equal(result.role, emulator.env.PGUSER, JSON.stringify(result));
        assert.equal(rejected, 1);
        assert.equal(issued, 2, 'the identity endpoint was asked again after the refusal');
      }
    });

    it('while a valid token is cached, an identity outage fails no connection', async () => {
      const result = await runPhased(emulator, 'outage', () => emulator.setFaults({ status: 503 }));
      emulator.clearFaults();
      assert.deepEqual(
        { connections: result.connections, failed: result.failed },
        { connections: 20, failed: 0 },
      );
    });

    it('with no token to be had, the connect fails typed within the budget; after recovery it succeeds', async () => {
      emulator.setFaults({ status: 503 });
      const result = await runPhased(emulator, 'cold-outage', () => emulator.clearFaults());
      emulator.clearFaults();
      assert.equal(result.code, 'TOKEN_ENDPOINT_FAILED', JSON.stringify(result));
      assert.ok((result.elapsedMs as number) < 10_000 + 1_000, `failed after ${result.elapsedMs} ms`);
      assert.equal(result.recoveredAs, emulator.env.PGUSER);
    });

    it('after a failed fetch, the process exits within a second of pool.end()', async () => {
      emulator.setFaults({ status: 503 });
      const startedMs = Date.now();
      const result = await runScenario('contract.ts', ['exit-after-failure'], emulator.env);
      const exitedMs = Date.now();
      emulator.clearFaults();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.output.code, 'TOKEN_ENDPOINT_FAILED');
      const lingeredMs = exitedMs - (result.output.endedAtMs as number);
      assert.ok(
        lingeredMs < 1_000,
        `the process lived ${lingeredMs} ms after pool.end() (${exitedMs - startedMs} ms in all)`,
      );
    });
  });
}
