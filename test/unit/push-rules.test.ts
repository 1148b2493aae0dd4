/** Which pushes to protected refs are refused (src/projects/push-rules.ts), and SLIPWAY_CI_CONCURRENCY parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pushRefusal, type PushRules } from '../../src/projects/push-rules.js';
import { loadConfig } from '../../src/config.js';

const ZERO = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const rules: PushRules = { project: 'shop', branches: [{ name: 'main', allowForcePush: false }, { name: 'release/*', allowForcePush: false }, { name: 'release/old-*', allowForcePush: true }], tags: ['v*'] };
const ancestor = (yes: boolean) => () => yes;
const refused = (ref: string, oldSha: string, newSha: string, fastForward = false) => pushRefusal({ ref, oldSha, newSha }, rules, ancestor(fastForward))?.[0];

test('protected branches: no deletion, no rewrite; creation and fast-forwards are fine', () => {
  assert.equal(refused('refs/heads/main', ZERO, A), undefined);
  assert.equal(refused('refs/heads/main', A, B, true), undefined);
  assert.equal(refused('refs/heads/main', A, B), 'main is a protected branch: force pushes are not allowed.');
  assert.equal(refused('refs/heads/main', A, ZERO), 'main is a protected branch: it cannot be deleted.');
  assert.equal(refused('refs/heads/release/1', A, ZERO), 'release/1 is a protected branch (release/*): it cannot be deleted.');
  assert.equal(refused('refs/heads/feature', A, B), undefined);
  assert.equal(refused('refs/heads/feature', A, ZERO), undefined);
  // The most permissive matching rule decides force pushes, never deletion.
  assert.equal(refused('refs/heads/release/old-1', A, B), undefined);
  assert.equal(refused('refs/heads/release/old-1', A, ZERO), 'release/old-1 is a protected branch (release/*): it cannot be deleted.');
  // Only branches ask about ancestry.
  let asked = 0;
  pushRefusal({ ref: 'refs/heads/feature', oldSha: A, newSha: B }, rules, () => (asked++, false));
  assert.equal(asked, 0);
});

test('protected tags: created, never moved or deleted; other refs are not ours', () => {
  assert.equal(refused('refs/tags/v1', ZERO, A), undefined);
  assert.equal(refused('refs/tags/v1', A, B, true), 'v1 is a protected tag (v*): it cannot be moved (protected tags are never updated).');
  assert.equal(refused('refs/tags/v1', A, ZERO), 'v1 is a protected tag (v*): it cannot be deleted.');
  assert.equal(refused('refs/tags/x1', A, ZERO), undefined);
  assert.equal(refused('refs/notes/commits', A, ZERO), undefined);
  assert.equal(refused('refs/heads/v1', A, ZERO), undefined, 'a branch named like a protected tag is not protected');
});

test('SLIPWAY_CI_CONCURRENCY: unset means the default; anything but a whole number of at least 1 is refused', () => {
  assert.equal(loadConfig({}).ciConcurrency, undefined);
  assert.equal(loadConfig({ SLIPWAY_CI_CONCURRENCY: '' }).ciConcurrency, undefined);
  assert.equal(loadConfig({ SLIPWAY_CI_CONCURRENCY: '3' }).ciConcurrency, 3);
  assert.equal(loadConfig({ SLIPWAY_CI_CONCURRENCY: ' 12 ' }).ciConcurrency, 12);
  for (const bad of ['0', '-1', '1.5', '2e3', 'four', '0x10', '99999999999999999999']) {
    assert.throws(() => loadConfig({ SLIPWAY_CI_CONCURRENCY: bad }), new RegExp(`^Error: SLIPWAY_CI_CONCURRENCY must be a whole number of at least 1 \\(how many CI jobs may run at once\\), got `), bad);
  }
});
