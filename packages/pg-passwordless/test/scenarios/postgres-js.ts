// One postgres.js scenario per process (the real SDKs keep credentials and tokens process-wide), run
// by test/adapters/postgres-adapter.test.ts against the emulator. Prints JSON lines of facts, never a token.
import { existsSync } from 'node:fs';
import { inspect } from 'node:util';
import postgres from 'postgres';
import { postgresOptions } from '../../src/adapters/postgres.ts';

const [scenario] = process.argv.slice(2);
const url = process.env.DATABASE_URL ?? '';
const print = (facts: Record<string, unknown>) => console.log(JSON.stringify(facts));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

switch (scenario) {
  case 'rotation': {
    // Queries run for longer than two token lifetimes while connections log in again every few
    // seconds (max_lifetime): every login must find a valid token.
    const durationMs = Number(process.env.SCENARIO_DURATION_MS);
    const options = await postgresOptions(url);
    const sent = new Set<string>();
    const pass = async () => {
      const token = (await options.pass?.()) ?? '';
      sent.add(token); // counted, never printed
      return token;
    };
    const sql = postgres({ ...options, pass, max: 4, max_lifetime: 3 });
    const endAtMs = Date.now() + durationMs;
    let queries = 0;
    let failed = 0;
    const errors = new Set<string>();
    const worker = async () => {
      while (Date.now() < endAtMs) {
        try {
          const [row] = await sql`select current_user as role`;
          if (row?.role !== process.env.PGUSER) throw new Error(`logged in as ${row?.role}`);
          queries++;
        } catch (error) {
          failed++;
          errors.add(String((error as { code?: string }).code ?? (error as Error).message));
        }
        await sleep(50);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await sql.end();
    print({ queries, failed, errors: [...errors], tokensSent: sent.size, stats: options.token?.stats() });
    break;
  }
  case 'leak': {
    // The options as an app might log them, after a real login: no token in any rendering.
    const options = await postgresOptions(url);
    const sql = postgres({ ...options, max: 1 });
    const [row] = await sql`select current_user as role`;
    const token = await options.token?.getToken();
    const shown = [
      JSON.stringify(options),
      inspect(options, { showHidden: true, depth: 10 }),
      inspect({ ...options }, { showHidden: true, depth: 10 }),
      String(options),
    ];
    print({
      role: row?.role,
      tokenShown: token === undefined || shown.some((text) => text.includes(token)),
      tokenEnumerable: Object.keys(options).includes('token'),
      passSurvivesSpread: typeof { ...options }.pass === 'function',
      sslVerified: (options.ssl as { rejectUnauthorized?: boolean }).rejectUnauthorized,
    });
    await sql.end();
    break;
  }
  case 'cold-outage': {
    // The identity endpoint fails before any token exists: the query fails with the token cache's
    // typed error (not an unhandled rejection, not a connect timeout), within the cache's budget.
    let unhandled = 0;
    process.on('unhandledRejection', () => unhandled++);
    const options = await postgresOptions(url);
    const sql = postgres({ ...options, max: 1 });
    const startedMs = Date.now();
    const failure = await sql`select 1`.then(
      () => undefined,
      (error: { code?: string; name?: string }) => error,
    );
    const elapsedMs = Date.now() - startedMs;
    print({ phase: 'failed' });
    // The test clears the fault and says so with a file; the same pool then logs in.
    const flag = process.env.SCENARIO_FLAG as string;
    while (!existsSync(flag)) await sleep(20);
    const [row] = await sql`select current_user as role`;
    print({ code: failure?.code, name: failure?.name, elapsedMs, unhandled, recoveredAs: row?.role });
    await sql.end();
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
