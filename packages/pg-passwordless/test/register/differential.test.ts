// The preload must be as transparent as pg itself: each app in ./apps/differential runs twice, in its
// own process, and must observe the same thing both times (every connect, query and end outcome, the
// 'error' and 'end' events, in order, and that the process exits on its own, with the same code):
//
// - plain pg, no preload, logging in with a password (PGPASSWORD) to the emulator's gateway, which
//   holds a password role: a PostgreSQL server over verified TLS, the same certificate and the same
//   backend as the preload's run, so that nothing differs but where the password comes from;
// - under `node --import pg-passwordless/register` with the emulator's client environment and no
//   password anywhere: the token from its identity endpoint.
//
// Where a scenario needs a connection that is not ready yet, the wait is the thing each run really
// waits on: for plain pg a server that accepts and never answers, under the preload an identity
// endpoint that answers late (the emulator's latency fault), before which the preload opens no socket.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { type AppRun, assertBuildIsCurrent, clientEnv, runApp } from './run-app.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Scenario {
  app: string;
  what: string;
  /** One event the app must observe, so that two runs that both went wrong the same way do not pass. */
  expect: string;
  /** Whether the connection must still be in the making when the app acts (see the header). */
  waits?: boolean;
  /** Variables of both runs (beyond the target's), and of the preload's run alone. */
  env?: Record<string, string>;
  preloadEnv?: Record<string, string>;
}

const scenarios: Scenario[] = [
  {
    app: 'connect-then-end.cjs',
    what: 'connect() then end() at once, a query queued between',
    expect: 'connect callback: never settled',
  },
  {
    app: 'queued-queries.cjs',
    what: 'queries queued before the connection is ready, one failing',
    expect: 'third query: resolved [{"word":"three"}]',
  },
  {
    app: 'pipelining.cjs',
    what: 'pipeline mode, queries and end() queued before connect',
    expect: 'query 3: resolved [{"n":3}]',
  },
  {
    app: 'promise-option.cjs',
    what: 'the Promise option of a Client and a Pool',
    expect: 'client.connect() returns TrackedPromise',
  },
  {
    app: 'app-ssl.cjs',
    what: "the app's ssl: its CA, a client certificate, an encrypted key and its passphrase",
    expect: 'own certificate: orders-app-client',
    // The app's CA must win over PGSSLROOTCERT: here PGSSLROOTCERT names a CA that signed nothing.
    preloadEnv: { PGSSLROOTCERT: `${fixtures}unrelated-ca.pem` },
  },
  {
    app: 'connection-timeout.cjs',
    what: 'connectionTimeoutMillis of a Client and a Pool, expiring before the connection is ready',
    expect: 'client connect: rejected Error: timeout expired',
    waits: true,
  },
  {
    app: 'end-while-connecting.cjs',
    what: 'end() while the connection is in the making (under the preload: during the token wait)',
    expect: 'connect: never settled',
    waits: true,
  },
  {
    app: 'pool-end-while-connecting.cjs',
    what: "pool.end() during the pool's first connect",
    expect: 'query: resolved [{"n":1}]',
  },
  {
    app: 'failed-connect-retry.cjs',
    what: 'a failed connect, then connect() again and a new client',
    expect: 'new client connect: resolved',
    env: { FIRST_DATABASE: 'no_such_database' },
  },
];

/** A TCP server that accepts connections and never answers: a connection to it stays in the making. */
async function startSilentServer(): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // Read and drop: the client's FIN is seen, so its end() completes as against a real server.
    socket.resume();
  });
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, port: address.port };
}

function describeRun(run: AppRun): string {
  return `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

describe('the preload behaves as pg: the same app, plain pg with a password vs the preload with a token', () => {
  const legacy = { name: 'legacy_app', password: 'legacy-app-password' };
  // How long the identity endpoint takes to answer when a scenario must act during the token wait.
  // The apps act within a turn of the event loop or 200 ms; this only has to be longer than that.
  const slowTokenMs = 3_000;
  let emulator: Emulator;
  let silent: { server: Server; port: number };

  before(async () => {
    assertBuildIsCurrent();
    emulator = await startEmulator({ cloud: 'azure', passwordRole: legacy });
    silent = await startSilentServer();
  });
  after(async () => {
    silent?.server.close();
    await emulator?.stop();
  });

  function apps(scenario: Scenario): Record<string, string> {
    return {
      APP_CA: emulator.caPath,
      APP_CLIENT_CERT: `${fixtures}client-cert.pem`,
      APP_CLIENT_KEY: `${fixtures}client-key.pem`,
      APP_CLIENT_KEY_PASSPHRASE: 'fixture-passphrase',
      ...scenario.env,
    };
  }

  function runPlain(scenario: Scenario): Promise<AppRun> {
    const { host, port } = emulator.gateway;
    return runApp(
      `differential/${scenario.app}`,
      {
        PGHOST: host,
        PGPORT: String(scenario.waits ? silent.port : port),
        PGDATABASE: emulator.backend.database,
        PGUSER: legacy.name,
        PGPASSWORD: legacy.password,
        // pg reads PGSSLMODE=verify-full as `ssl: true`: Node's verification, with the emulator's CA.
        PGSSLMODE: 'verify-full',
        NODE_EXTRA_CA_CERTS: emulator.caPath,
        ...apps(scenario),
      },
      { preload: 'none', timeoutMs: 30_000 },
    );
  }

  async function runPreloaded(scenario: Scenario): Promise<AppRun> {
    if (scenario.waits) emulator.setFaults({ latencyMs: slowTokenMs });
    try {
      const env = clientEnv(emulator, { ...apps(scenario), ...scenario.preloadEnv });
      return await runApp(`differential/${scenario.app}`, env, { timeoutMs: 30_000 });
    } finally {
      emulator.clearFaults();
    }
  }

  for (const scenario of scenarios) {
    it(`${scenario.what} (${scenario.app})`, async () => {
      const plain = await runPlain(scenario);
      assert.equal(plain.code, 0, `plain pg: ${describeRun(plain)}`);
      const events = plain.output.events as string[] | undefined;
      assert.ok(
        events?.includes(scenario.expect),
        `plain pg did not observe "${scenario.expect}": ${describeRun(plain)}`,
      );

      const sockets = emulator.counters().gateway.connections;
      const preloaded = await runPreloaded(scenario);
      assert.deepEqual(
        { code: preloaded.code, events: preloaded.output.events },
        { code: plain.code, events },
        `the preload differs from pg:\n${describeRun(preloaded)}`,
      );
      if (scenario.waits || scenario.app === 'connect-then-end.cjs') {
        // Cancelled during the token wait: no socket was ever opened to the server.
        assert.equal(emulator.counters().gateway.connections, sockets, 'the preload opened a socket');
      }
    });
  }
});
