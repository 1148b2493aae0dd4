// The local cache keys of `slipway ci run` (remembered pipelines, state directories): stable,
// 128 bits, and different for the near-identical inputs a user's edits produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastHash } from '../../src/ci/fast-hash.js';

test('fastHash is stable, 32 hex digits, and tells near-identical texts apart', () => {
  assert.match(fastHash('stages: [test]\n'), /^[0-9a-f]{32}$/);
  assert.equal(fastHash('job:\n  script: x\n'), fastHash('job:\n  script: x\n'));
  assert.notEqual(fastHash(''), fastHash('\0'));
  assert.notEqual(fastHash('ab'), fastHash('ba'));
  const seen = new Set<string>();
  const base = 'job:\n  script: echo 1\n';
  for (let i = 0; i < 20_000; i++) {
    seen.add(fastHash(`${base}# ${i}`));
    seen.add(fastHash(`${i}${base}`));
  }
  assert.equal(seen.size, 40_000);
});
