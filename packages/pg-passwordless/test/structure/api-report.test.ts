// The public surface of both packages is checked in (api-report.md): a change to what an entry exports,
// or to a signature, fails here until the report is regenerated and the diff reviewed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script, without types
import { apiReport } from '../../../../scripts/api-report.mjs';

const reportFile = fileURLToPath(new URL('../../../../api-report.md', import.meta.url));

describe('the public API report', () => {
  it('matches the built packages (run `node scripts/api-report.mjs --write` after a deliberate change)', () => {
    const built = (apiReport as () => string)();
    assert.ok(built.includes('## pg-passwordless\n'), 'the root entry is in the report');
    assert.ok(!built.includes('(unresolved)'), 'every exported name was found in the .d.ts files');
    assert.equal(built, readFileSync(reportFile, 'utf8'));
  });

  it('exports no cloud internals from the root entry', () => {
    const root = (apiReport as () => string)().split('## pg-passwordless/')[0] ?? '';
    for (const internal of [
      'rdsTokenSource',
      'SQLSERVICE_LOGIN_SCOPE',
      'AZURE_POSTGRES_RESOURCES',
      'iamDatabaseUserOf',
      'ALLOYDB_LOGIN_SCOPE',
      'azureTokenSource',
    ]) {
      assert.ok(!root.includes(` ${internal}`), `${internal} is a cloud internal`);
    }
  });
});
