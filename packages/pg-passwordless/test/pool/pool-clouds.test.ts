// The pool on the other clouds, through the same resolution and token cache as every command: AWS RDS
// IAM (container credentials), GCP Cloud SQL IAM (the metadata server), and Aurora DSQL, whose sessions
// end at a cap that PgBouncer's server_lifetime must stay under.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { poolServerLifetime } from '../../src/pool/server-lifetime.ts';
import { runProgram } from '../cli/run-cli.ts';
import { startPoolCli, stopPool } from './run-pool.ts';

const psql = (url: string, sql: string) => runProgram('psql', ['-X', '-At', '-d', url, '-c', sql], {});

describe('pg-passwordless pool on AWS RDS IAM', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws' });
  });
  after(() => emulator?.stop());

  it('pgbench -C (a client login per transaction): every login local, at most --pool-size server logins', async () => {
    const pool = await startPoolCli(['--listen', '127.0.0.1:0', '--pool-size', '3'], emulator.env);
    const identityRequests = emulator.counters().identityRequests;
    const loginsBefore = emulator.counters().gateway.loginsAccepted;
    const run = await runProgram(
      'pgbench',
      ['-n', '-C', '-c', '4', '-j', '2', '-t', '100', '-f', selectOne(), pool.url],
      {},
      120_000,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /number of transactions actually processed: 400\/400/);
    const after = emulator.counters();
    assert.ok(
      after.gateway.loginsAccepted - loginsBefore <= 3,
      `${after.gateway.loginsAccepted - loginsBefore} server logins for 400 client logins`,
    );
    assert.equal(after.identityRequests, identityRequests, 'no identity request after the first token');
    const role = await psql(pool.url, 'select current_user');
    assert.equal(role.stdout.trim(), emulator.env.PGUSER, role.stderr);
    assert.equal((await stopPool(pool)).code, 0);
  });
});

describe('pg-passwordless pool on GCP Cloud SQL IAM', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'gcp' });
  });
  after(() => emulator?.stop());

  it('30 psql at once, as the service account’s user, through at most --pool-size server logins', async () => {
    const pool = await startPoolCli(['--listen', '127.0.0.1:0', '--pool-size', '4'], emulator.env);
    const identityRequests = emulator.counters().identityRequests;
    const loginsBefore = emulator.counters().gateway.loginsAccepted;
    const results = await Promise.all(
      Array.from({ length: 30 }, () => psql(pool.url, 'select current_user')),
    );
    for (const result of results) assert.equal(result.stdout.trim(), emulator.env.PGUSER, result.stderr);
    const after = emulator.counters();
    assert.ok(after.gateway.loginsAccepted - loginsBefore <= 4);
    assert.equal(after.identityRequests, identityRequests);
    assert.equal((await stopPool(pool)).code, 0);
  });
});

describe('pg-passwordless pool on Aurora DSQL', () => {
  // The 60-minute cap scaled down to 6 s for the emulator's gateway; the library knows DSQL's own.
  const CAP_SECONDS = 6;
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql', dsqlSessionCapSeconds: CAP_SECONDS });
  });
  after(() => emulator?.stop());

  const urlOf = (user: string) =>
    `postgresql://${user}@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;

  it('PgBouncer’s server_lifetime defaults under DSQL’s 60-minute cap', async () => {
    const pool = await startPoolCli([urlOf('admin'), '--listen', '127.0.0.1:0'], emulator.env);
    assert.match(readFileSync(join(pool.folder, 'pgbouncer.ini'), 'utf8'), /^server_lifetime = 1620$/m);
    const role = await psql(pool.url, 'select current_user');
    assert.equal(role.stdout.trim(), 'admin', role.stderr);
    assert.equal((await stopPool(pool)).code, 0);
  });

  it('with the lifetime that rule gives a 6 s cap, a steady load outlives the cap: no session is cut, no transaction fails', async () => {
    const lifetime = poolServerLifetime(undefined, CAP_SECONDS);
    assert.equal(lifetime, 2);
    const pool = await startPoolCli(
      [
        urlOf('app_user'),
        '--listen',
        '127.0.0.1:0',
        '--pool-mode',
        'transaction',
        '--pool-size',
        '2',
        '--server-lifetime',
        String(lifetime),
      ],
      emulator.env,
    );
    const before = emulator.counters().gateway;
    const run = await runProgram(
      'pgbench',
      ['-n', '-c', '2', '-j', '2', '-R', '50', '-T', String(3 * CAP_SECONDS), '-f', selectOne(), pool.url],
      {},
      120_000,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /number of failed transactions: 0 \(0\.000%\)/);
    const after = emulator.counters().gateway;
    assert.equal(
      after.sessionsCapped - before.sessionsCapped,
      0,
      'PgBouncer retired each server connection first',
    );
    assert.ok(
      after.loginsAccepted - before.loginsAccepted >= 4,
      'and logged in again, more than once per connection',
    );
    assert.equal((await stopPool(pool)).code, 0);
  });
});

/** A pgbench script of one `select 1` (no tables needed). */
function selectOne(): string {
  const file = join(process.env.TMPDIR ?? '/tmp', `pool-select-one-${process.pid}.sql`);
  writeFileSync(file, 'select 1;\n');
  process.once('exit', () => rmSync(file, { force: true }));
  return file;
}
