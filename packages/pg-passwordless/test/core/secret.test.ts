import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { SecretToken } from '../../src/core/secret.ts';

describe('SecretToken', () => {
  it('never shows its value in strings, JSON, inspect or enumeration', () => {
    const secret = new SecretToken('eyJ-very-secret');
    const views = [
      String(secret),
      `${secret}`,
      JSON.stringify({ secret }),
      inspect(secret),
      inspect({ secret }, { showHidden: true }),
      Object.keys(secret).join(),
    ];
    for (const view of views) assert.ok(!view.includes('very-secret'), view);
    assert.equal(secret.reveal(), 'eyJ-very-secret');
    assert.ok(secret.equals(new SecretToken('eyJ-very-secret')));
  });
});
