// npm run demo: the reference scenario end to end on this machine. The emulator plays Azure (managed
// identity + an Entra-only PostgreSQL); the example server connects with no password anywhere, runs its
// migrations and serves its API while its tokens rotate underneath.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';

const { values: flags } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'auto' },
    'token-lifetime': { type: 'string', default: '20' },
    duration: { type: 'string', default: '38' },
    'pool-max-lifetime': { type: 'string', default: '5' },
  },
});
const tokenLifetimeSeconds = Number(flags['token-lifetime']);
const durationSeconds = Number(flags.duration);
const REFRESH_AT_RATIO = 0.75; // the token engine's default: refresh ahead at 75% of a token's life

const step = (title: string) => console.log(`\n== ${title}`);
const say = (line: string) => console.log(`   ${line}`);

step('Starting the emulator (managed identity + Entra-only PostgreSQL gateway)');
const emulator = await startEmulator({ backend: flags.backend as 'auto', tokenLifetimeSeconds });
say(`backend: ${emulator.backend.describe()}`);
say(`gateway: ${emulator.gateway.host}:${emulator.gateway.port}, TLS with a CA at ${emulator.caPath}`);
say(`identity endpoint: ${emulator.env.IDENTITY_ENDPOINT} (tokens live ${tokenLifetimeSeconds} s)`);

const databaseUrl = `postgresql://orders-api@${emulator.gateway.host}:${emulator.gateway.port}/${emulator.backend.database}`;
let server: ChildProcess | undefined;
let exitCode = 1;
try {
  step('Starting the API server: its only database setting is a password-less URL');
  say(`DATABASE_URL=${databaseUrl}`);
  const tokensBeforeServer = emulator.counters().tokensIssued;
  const started = await startServer(emulator, databaseUrl);
  server = started.child;
  const api = started.baseUrl;
  const serverLoggedInAtMs = Date.now();

  // A session opened now, with a token of its own, must keep working after that token expires.
  const longSession = await openSessionWithFreshToken(emulator);
  const demoOwnTokens = 1;

  step('Driving the API with real HTTP requests');
  const created = [];
  for (const name of ['nightly-etl', 'hourly-sync', 'report-build']) {
    const run = await request(api, 'POST', '/flow-runs', { name, parameters: { source: 'demo' } });
    created.push(run.body as { id: number });
    say(`POST /flow-runs {"name":"${name}"} -> ${run.status}, id ${(run.body as { id: number }).id}`);
  }
  const page = await request(api, 'GET', '/flow-runs?limit=2&offset=0');
  say(
    `GET /flow-runs?limit=2 -> ${page.status}, ${(page.body as { items: [] }).items.length} of ${(page.body as { total: number }).total}`,
  );
  const patched = await request(api, 'PATCH', `/flow-runs/${created[0]?.id}/state`, { state: 'RUNNING' });
  say(
    `PATCH /flow-runs/${created[0]?.id}/state {"state":"RUNNING"} -> ${patched.status}, state ${(patched.body as { state: string }).state}`,
  );
  const invalid = await request(api, 'POST', '/flow-runs', { name: '' });
  say(
    `POST /flow-runs {"name":""} -> ${invalid.status} ${JSON.stringify((invalid.body as { details: unknown }).details)}`,
  );
  const health = await request(api, 'GET', '/health');
  const db = (health.body as { database: { loginRole: string; tokenExpiresAt: string } }).database;
  say(
    `GET /health -> ${health.status}, logged in as "${db.loginRole}", token valid until ${db.tokenExpiresAt}`,
  );

  if (flags.serve) {
    await longSession.end();
    await serveUntilInterrupted(api);
    exitCode = 0;
  } else {
    step(
      `Token rotation: ${durationSeconds} s of traffic, ${tokenLifetimeSeconds} s tokens, pool connections recycled every ${flags['pool-max-lifetime']} s`,
    );
    const traffic = await driveTraffic(api, durationSeconds);
    const elapsedSeconds = (Date.now() - serverLoggedInAtMs) / 1000;
    const serverIdentityRequests = emulator.counters().tokensIssued - tokensBeforeServer - demoOwnTokens;
    const tokensNeeded = 1 + Math.floor(elapsedSeconds / (tokenLifetimeSeconds * REFRESH_AT_RATIO));
    say(`HTTP requests: ${traffic.requests}, failed: ${traffic.failures}`);
    say(`token rotations seen by the server: ${traffic.rotations}`);
    say(`new database logins: ${emulator.counters().gateway.loginsAccepted}`);
    say(
      `identity-endpoint requests by the server: ${serverIdentityRequests} over ${elapsedSeconds.toFixed(0)} s = ` +
        `${tokensNeeded} token lifetimes (each token renewed at ${REFRESH_AT_RATIO * 100}% of its ${tokenLifetimeSeconds} s)`,
    );

    step(
      'A session opened at the start, whose token has long expired, still works (tokens are checked at login only)',
    );
    const { rows } = await longSession.query('select current_user as role, now() as at');
    say(`select current_user -> "${rows[0].role}" at ${new Date(rows[0].at).toISOString()}`);
    await longSession.end();

    step('No password anywhere');
    const findings = await searchForPasswords(emulator, server, databaseUrl);
    for (const line of findings.lines) say(line);

    const ok =
      traffic.failures === 0 &&
      traffic.rotations >= 2 &&
      serverIdentityRequests === tokensNeeded &&
      findings.clean;
    step('Summary');
    say(`identity: managed identity "orders-api"; database role "${db.loginRole}"`);
    say(`migrations applied at start; ${traffic.requests} API requests served, ${traffic.failures} failed`);
    say(
      `${traffic.rotations} token rotations; ${serverIdentityRequests} identity-endpoint requests for ${tokensNeeded} token lifetimes`,
    );
    say(
      `passwords found: ${findings.clean ? 'none' : 'SOME (see above)'}; password login refused: ${findings.passwordRefused ? 'yes' : 'NO'}`,
    );
    say(ok ? 'RESULT: ok' : 'RESULT: FAILED');
    exitCode = ok ? 0 : 1;
  }
} finally {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('close', resolve));
  }
  await emulator.stop();
}
process.exitCode = exitCode;

async function startServer(
  emulator: Emulator,
  databaseUrl: string,
): Promise<{ child: ChildProcess; baseUrl: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(PG|AZURE_|IDENTITY_|MSI_|DATABASE_URL$)/.test(name)),
  );
  // The server gets what a workload on Azure has: the managed-identity endpoint, the database address
  // and the switches. Not the emulator's control secret.
  const { PG_PASSWORDLESS_EMULATOR_SECRET: _controlSecret, ...cloudEnv } = emulator.env;
  const env = {
    ...inherited,
    ...cloudEnv,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    POOL_MAX_LIFETIME_SECONDS: String(flags['pool-max-lifetime']),
  };
  const serverScript = fileURLToPath(new URL('./server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!/new database connection/.test(line)) say(line);
        const listening = /listening on (http:\/\/\S+)/.exec(line);
        if (listening) resolve({ child, baseUrl: listening[1] as string });
      }
    });
    child.once('close', (code) => reject(new Error(`the server exited with code ${code} before listening`)));
  });
}

async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function openSessionWithFreshToken(emulator: Emulator): Promise<pg.Client> {
  const tokenResponse = await fetch(
    `${emulator.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://ossrdbms-aad.database.windows.net`,
    {
      headers: { 'X-IDENTITY-HEADER': emulator.env.IDENTITY_HEADER as string },
    },
  );
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  const client = new pg.Client({
    host: emulator.gateway.host,
    port: emulator.gateway.port,
    database: emulator.backend.database,
    user: 'orders-api',
    password: token,
    ssl: { ca: readFileSync(emulator.caPath) },
  });
  client.on('error', (error) => say(`the long session failed: ${error.message}`));
  await client.connect();
  return client;
}

async function driveTraffic(
  api: string,
  seconds: number,
): Promise<{ requests: number; failures: number; rotations: number }> {
  const endAtMs = Date.now() + seconds * 1000;
  let requests = 0;
  let failures = 0;
  let rotations = 0;
  let lastExpiry: string | undefined;
  let lastReportMs = 0;
  while (Date.now() < endAtMs) {
    const calls: Array<() => Promise<{ status: number; body: unknown }>> = [
      () => request(api, 'POST', '/flow-runs', { name: `run-${requests}` }),
      () => request(api, 'GET', '/flow-runs?limit=5'),
      () => request(api, 'GET', '/health'),
    ];
    for (const call of calls) {
      requests++;
      try {
        const answer = await call();
        if (answer.status >= 400) failures++;
        const expiry = (answer.body as { database?: { tokenExpiresAt?: string } }).database?.tokenExpiresAt;
        if (expiry && expiry !== lastExpiry) {
          if (lastExpiry) {
            rotations++;
            say(`token rotated: the server now logs new connections in with a token valid until ${expiry}`);
          }
          lastExpiry = expiry;
        }
      } catch {
        failures++;
      }
    }
    if (Date.now() - lastReportMs > 10_000) {
      lastReportMs = Date.now();
      say(`${requests} requests so far, ${failures} failed`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { requests, failures, rotations };
}

async function searchForPasswords(emulator: Emulator, server: ChildProcess, databaseUrl: string) {
  const lines: string[] = [];
  let clean = true;
  // 1. The server's environment, as the kernel holds it.
  const environ = readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0').filter(Boolean);
  const suspicious = environ.filter((entry) => {
    const [name = '', value = ''] = entry.split(/=(.*)/s);
    // PG_PASSWORDLESS_* are our own switches; PGPASSWORD, PGPASSFILE, DB_PASSWORD and the like are not allowed.
    const bare = name.replace(/^PG_PASSWORDLESS_/, '');
    return /PASSWORD|PASSWD|PGPASS/i.test(bare) || /^eyJ[\w-]+\.[\w-]+\./.test(value);
  });
  clean &&= suspicious.length === 0;
  lines.push(
    `server environment: ${environ.length} variables, ${suspicious.length === 0 ? 'none holds a password or a token' : `suspicious: ${suspicious.map((entry) => entry.split('=')[0]).join(', ')}`}`,
  );
  // 2. Its configuration: the URL carries no password.
  const hasUrlPassword = new URL(databaseUrl).password !== '';
  clean &&= !hasUrlPassword;
  lines.push(`server configuration: DATABASE_URL ${hasUrlPassword ? 'HAS a password' : 'has no password'}`);
  // 3. The database: no role has a password.
  const withPassword = await emulator.adminSql('select rolname from pg_authid where rolpassword is not null');
  clean &&= withPassword.length === 0;
  lines.push(
    `database role catalog: ${withPassword.length === 0 ? 'no role has a password' : `roles with passwords: ${withPassword.map((row) => row[0]).join(', ')}`}`,
  );
  // 4. A password login is refused (Entra-only server).
  const attempt = new pg.Client({
    host: emulator.gateway.host,
    port: emulator.gateway.port,
    database: emulator.backend.database,
    user: 'orders-api',
    password: 'any-password-at-all',
    ssl: { ca: readFileSync(emulator.caPath) },
  });
  let passwordRefused = false;
  try {
    await attempt.connect();
    await attempt.end();
    lines.push('password login: ACCEPTED');
  } catch (error) {
    passwordRefused = true;
    lines.push(`password login refused: ${(error as Error).message}`);
  }
  return { lines, clean: clean && passwordRefused, passwordRefused };
}

async function serveUntilInterrupted(api: string): Promise<void> {
  step('Serving until Ctrl-C. Try:');
  say(`curl -s ${api}/health`);
  say(`curl -s -X POST -H 'Content-Type: application/json' -d '{"name":"my-flow"}' ${api}/flow-runs`);
  say(`curl -s '${api}/flow-runs?limit=10&offset=0'`);
  say(
    `curl -s -X PATCH -H 'Content-Type: application/json' -d '{"state":"COMPLETED"}' ${api}/flow-runs/1/state`,
  );
  say('psql, with the emulator environment below and PGPASSWORD set to a token from the identity endpoint:');
  for (const [name, value] of Object.entries(emulator.env)) say(`export ${name}=${value}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
