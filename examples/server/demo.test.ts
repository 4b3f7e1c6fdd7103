import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const demo = fileURLToPath(new URL('./demo.ts', import.meta.url));

describe('npm run demo (smoke test)', () => {
  it('runs the reference scenario with two token rotations, no failed request and no password', async () => {
    // Short tokens keep the smoke test quick while still rotating twice.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', demo, '--token-lifetime', '12', '--duration', '22', '--pool-max-lifetime', '3'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /migrations applied: 001_flow_runs, 002_state_history/);
    assert.match(output, /HTTP requests: \d+, failed: 0/);
    assert.match(output, /token rotations seen by the server: ([2-9]|\d{2,})/);
    assert.match(output, /identity-endpoint requests by the server: (\d+) over \d+ s = \1 token lifetimes/);
    assert.match(output, /no role has a password/);
    assert.match(output, /password login refused: password authentication failed for user "orders-api"/);
    assert.match(output, /RESULT: ok/);
  });
});
