// The refused-login contract with GCP's file credentials and the real google-auth-library: after the
// server refuses the cached token, the retry logs in with a token the SDK was made to fetch anew (its
// own cache bypassed: `refreshAccessToken()` for a key's JWT client, an expired mark through
// `setCredentials` for an external account's client, which has no refresh of its own).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { cleanEnv } from '../helpers/run-scenario.ts';

const scenarioPath = fileURLToPath(new URL('../scenarios/contract.ts', import.meta.url));

/** Runs the `invalidate` scenario: once it has logged in, the server revokes its token; its last facts. */
function loginAfterRevocation(emulator: Emulator): Promise<Record<string, unknown>> {
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-gcp-contract-'));
  const flag = join(folder, 'revoked');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', scenarioPath, 'invalidate'], {
      env: { ...cleanEnv(), ...emulator.env, SCENARIO_FLAG: flag },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let revoked = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!revoked && stdout.includes('"phase"')) {
        revoked = true;
        assert.ok(emulator.revokeAcceptedTokens() >= 1, 'the cached token had logged in');
        writeFileSync(flag, '');
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(folder, { recursive: true, force: true });
      try {
        resolve({ code, ...(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>) });
      } catch {
        reject(new Error(`no result (exit ${code}): ${stdout}\n${stderr}`));
      }
    });
  });
}

for (const gcpCredential of ['key-file', 'external-account'] as const) {
  describe(`the refused-login contract on gcp with ${gcpCredential}`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'gcp', gcpCredential });
    });
    after(() => emulator?.stop());

    it('after the server refuses the cached token, the retry logs in with a newly fetched one', async () => {
      const requestsBefore = emulator.identityRequests().length;
      const rejectedBefore = emulator.counters().gateway.loginsRejected;
      const result = await loginAfterRevocation(emulator);
      assert.equal(result.role, emulator.env.PGUSER, JSON.stringify(result));
      assert.equal(emulator.counters().gateway.loginsRejected - rejectedBefore, 1);
      const paths = emulator
        .identityRequests()
        .slice(requestsBefore)
        .map((request) => request.path);
      // Each login's token came from the token endpoint (or STS and impersonation): twice.
      const fetched =
        gcpCredential === 'key-file' ? ['/token', '/token'] : paths.filter((path) => path === '/v1/token');
      assert.equal(fetched.length, 2, JSON.stringify(paths));
    });
  });
}
