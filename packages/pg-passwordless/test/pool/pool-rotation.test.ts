// Three token lifetimes under a steady load: 30-second tokens, pgbench through the pool the whole time,
// and PgBouncer retiring its server connections every few seconds so that new server logins keep
// coming. The gateway refuses an expired token, so every login after the first token's end carried a
// later one; a server connection held all along (a client's open transaction) outlives them all, since
// a token is checked at login only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runProgram } from '../cli/run-cli.ts';
import { startPoolCli, stopPool } from './run-pool.ts';

const TOKEN_LIFETIME_SECONDS = 30;
const RUN_SECONDS = 3 * TOKEN_LIFETIME_SECONDS + 5;

describe('pg-passwordless pool over three token lifetimes', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure', tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS });
  });
  after(() => emulator?.stop());

  it('a steady load fails no transaction; server logins after each rotation use the new token; open server connections stay', async () => {
    const pool = await startPoolCli(
      ['--listen', '127.0.0.1:0', '--pool-mode', 'transaction', '--pool-size', '3', '--server-lifetime', '4'],
      emulator.env,
    );
    const initialized = await runProgram('pgbench', ['-i', '-q', '-s', '1', pool.url], {});
    assert.equal(initialized.code, 0, initialized.stderr);
    // One client keeps a transaction open, and with it one server connection, for the whole run.
    const holder = new pg.Client({ connectionString: pool.url });
    await holder.connect();
    await holder.query('begin');
    const backend = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid as number;

    const load = runProgram(
      'pgbench',
      ['-n', '-S', '-c', '4', '-j', '2', '-R', '100', '-T', String(RUN_SECONDS), pool.url],
      {},
      (RUN_SECONDS + 60) * 1000,
    );
    const rotations: Array<{ tokensIssued: number; loginsAccepted: number }> = [];
    let finished = false;
    void load.then(() => (finished = true));
    while (!finished) {
      const { tokensIssued, gateway } = emulator.counters();
      if (tokensIssued !== rotations.at(-1)?.tokensIssued) {
        rotations.push({ tokensIssued, loginsAccepted: gateway.loginsAccepted });
      }
      assert.equal((await holder.query('select pg_backend_pid() as pid')).rows[0].pid, backend);
      await sleep(500);
    }
    const result = await load;
    const end = emulator.counters();

    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /number of failed transactions: 0 \(0\.000%\)/);
    assert.ok(
      Number(/number of transactions actually processed: (\d+)/.exec(result.stdout)?.[1]) > 1_000,
      result.stdout,
    );
    assert.equal(end.gateway.loginsRejected, 0, 'no server login was refused: none carried an expired token');
    assert.ok(rotations.length >= 4, `tokens issued during the run: ${JSON.stringify(rotations)}`);
    // After each new token, before the next (or the end), PgBouncer logged in again: with that token,
    // since the pool hands out the newest one and the old one soon expires.
    rotations.forEach((rotation, index) => {
      const next = rotations[index + 1]?.loginsAccepted ?? end.gateway.loginsAccepted;
      assert.ok(next > rotation.loginsAccepted, `server logins after token ${rotation.tokensIssued}`);
    });
    // Each token that logged in counts once: every one of the run's lifetimes had its own.
    assert.ok(emulator.revokeAcceptedTokens() >= 4, 'four tokens or more logged in');

    assert.equal(
      (await holder.query('select pg_backend_pid() as pid')).rows[0].pid,
      backend,
      'the same server session throughout',
    );
    await holder.query('commit');
    await holder.end();
    assert.equal((await stopPool(pool)).code, 0);
  });
});
