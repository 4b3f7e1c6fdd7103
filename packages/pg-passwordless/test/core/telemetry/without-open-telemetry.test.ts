// An app without @opentelemetry/api, as `npm install pg-passwordless` leaves it: the package installed
// alone, where the API cannot be found. Tokens are handed out, the in-process registry (what /metrics
// shows) still counts, and nothing is said about the missing package.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installAlone, type LoneInstall } from '../../cli/lone-install.ts';
import { runProgram } from '../../cli/run-cli.ts';

const APP = `
import { createTokenCache, renderPrometheus, SecretToken, sharedTelemetry } from 'pg-passwordless';

let apiFound = true;
try {
  import.meta.resolve('@opentelemetry/api');
} catch {
  apiFound = false;
}
const cache = createTokenCache({
  source: { describe: () => 'a fixed token', fetchToken: async () => ({ token: new SecretToken('t0k3n'), expiresAtMs: Date.now() + 3_600_000 }) },
  labels: { cloud: 'vault', plugin: 'vault' },
});
const tokens = [await cache.getToken(), await cache.getToken()];
const lines = renderPrometheus(sharedTelemetry.snapshot()).split('\\n').filter((line) => line.startsWith('pg_passwordless_token_'));
cache.close();
console.log(JSON.stringify({ apiFound, tokens, lines }));
`;

describe('without @opentelemetry/api installed', () => {
  let install: LoneInstall;
  before(() => {
    install = installAlone();
    writeFileSync(join(install.project, 'app.mjs'), APP);
  });
  after(() => install?.remove());

  it('hands out tokens and counts them in process, without a word about the missing package', async () => {
    const result = await runProgram(process.execPath, [join(install.project, 'app.mjs')], {});
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no warning');
    const facts = JSON.parse(result.stdout) as { apiFound: boolean; tokens: string[]; lines: string[] };
    assert.equal(facts.apiFound, false, 'the API cannot be found from the app');
    assert.deepEqual(facts.tokens, ['t0k3n', 't0k3n']);
    const labels = '{cloud="vault",plugin="vault"';
    assert.ok(
      facts.lines.includes(`pg_passwordless_token_fetches_total${labels},result="ok"} 1`),
      facts.lines.join('\n'),
    );
    assert.ok(facts.lines.includes(`pg_passwordless_token_cache_hits_total${labels}} 1`));
    assert.ok(facts.lines.includes(`pg_passwordless_token_waits_total${labels}} 1`));
    assert.ok(
      facts.lines.some((line) =>
        line.startsWith(`pg_passwordless_token_fetch_duration_seconds_count${labels}} 1`),
      ),
    );
  });
});
