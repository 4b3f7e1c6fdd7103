// The long run from the issue: pgbench -C (a new connection, so a new login, for every transaction)
// under `pg-passwordless exec` for 2.5 token lifetimes. libpq reads PGPASSFILE for every connection,
// and exec keeps that file current, so no connection fails when the first token expires.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { hasProgram, runCli } from './run-cli.ts';

const tokenLifetimeSeconds = 20;
const runSeconds = Math.ceil(tokenLifetimeSeconds * 2.5); // 50 s

/** The figures pgbench prints at the end of a run. */
function parsePgbench(output: string): { processed: number; failed: number; aborted: boolean } {
  const processed = Number(
    /number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? Number.NaN,
  );
  const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? Number.NaN);
  return { processed, failed, aborted: /aborted|connection to server .* failed/i.test(output) };
}

describe('pg-passwordless exec over many token lifetimes', () => {
  const pgbench = hasProgram('pgbench');
  let emulator: Emulator;
  before(async () => {
    if (pgbench) emulator = await startEmulator({ cloud: 'azure', tokenLifetimeSeconds });
  });
  after(() => emulator?.stop());

  it(`pgbench -C runs ${runSeconds} s over ${tokenLifetimeSeconds} s tokens with no failed connection`, {
    skip: pgbench ? false : 'pgbench is not installed (apt-get install postgresql-client)',
  }, async (t) => {
    // The tables, created as the role itself, through exec.
    const init = await runCli(['exec', '--', 'pgbench', '-i', '-q', '-s', '1'], emulator.env, 60_000);
    assert.equal(init.code, 0, init.stderr);

    const before = emulator.counters();
    const run = await runCli(
      ['exec', '--', 'pgbench', '-C', '-n', '-c', '2', '-j', '1', '-T', String(runSeconds)],
      emulator.env,
      (runSeconds + 60) * 1000,
    );
    const after = emulator.counters();
    const output = run.stdout + run.stderr;
    const { processed, failed, aborted } = parsePgbench(output);
    const logins = after.gateway.loginsAccepted - before.gateway.loginsAccepted;
    const rejected = after.gateway.loginsRejected - before.gateway.loginsRejected;
    const tokensIssued = after.tokensIssued - before.tokensIssued;
    t.diagnostic(
      `${processed} transactions, ${failed} failed, ${logins} logins accepted, ${rejected} rejected, ` +
        `${tokensIssued} tokens issued in ${runSeconds} s of ${tokenLifetimeSeconds} s tokens`,
    );
    assert.equal(run.code, 0, output);
    assert.equal(aborted, false, output);
    assert.equal(failed, 0, output);
    assert.ok(processed > 100, `only ${processed} transactions`);
    assert.equal(rejected, 0, 'no login was refused');
    assert.ok(logins >= processed, `a login per transaction: ${logins} logins`);
    // Tokens renewed at 75 % of their 20 s: at least 3 in 50 s, each written to the password file.
    assert.ok(tokensIssued >= 3, `the identity endpoint issued ${tokensIssued} tokens`);
  });
});
