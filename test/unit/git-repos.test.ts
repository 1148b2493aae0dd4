/** App repository storage: creation, idempotence, rename, delete and the installed hook. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlatformError } from '../../src/core/errors.js';
import { deleteAppRepo, ensureAppRepo, renameAppRepo } from '../../src/git/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-git-repos-'));
const env = { ...process.env, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

describe('app repositories', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const reposDir = join(scratch, 'repos');

  test('ensureAppRepo makes a bare repo on main with an executable hook, and is idempotent', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureAppRepo(reposDir, 'alpha')));
    const dir = join(reposDir, 'alpha.git');
    assert.deepEqual(new Set(results), new Set([dir]));
    assert.equal(git(dir, 'rev-parse', '--is-bare-repository'), 'true');
    assert.equal(git(dir, 'symbolic-ref', 'HEAD'), 'refs/heads/main');
    const hook = join(dir, 'hooks', 'pre-receive');
    assert.ok(statSync(hook).mode & 0o100, 'the hook is executable');

    // A tampered hook is put back by the next ensure.
    const original = readFileSync(hook, 'utf8');
    writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    assert.equal(await ensureAppRepo(reposDir, 'alpha'), dir);
    assert.equal(readFileSync(hook, 'utf8'), original);
  });

  test('names that are not app names are refused', async () => {
    for (const name of ['../etc', 'A', 'x/y', '']) {
      await assert.rejects(ensureAppRepo(reposDir, name), (err) => isPlatformError(err) && err.status === 422);
    }
  });

  test('rename moves the repository; an existing target is a conflict', async () => {
    await ensureAppRepo(reposDir, 'beta');
    await renameAppRepo(reposDir, 'beta', 'gamma');
    assert.ok(!existsSync(join(reposDir, 'beta.git')));
    assert.ok(existsSync(join(reposDir, 'gamma.git', 'HEAD')));
    await ensureAppRepo(reposDir, 'delta');
    await assert.rejects(renameAppRepo(reposDir, 'gamma', 'delta'), (err) => isPlatformError(err) && err.status === 409);
    await renameAppRepo(reposDir, 'nothere', 'stillnothere'); // nothing to move
  });

  test('delete removes the repository and tolerates a missing one', async () => {
    await ensureAppRepo(reposDir, 'epsilon');
    await deleteAppRepo(reposDir, 'epsilon');
    assert.ok(!existsSync(join(reposDir, 'epsilon.git')));
    await deleteAppRepo(reposDir, 'epsilon');
  });

  test('a push that bypasses Slipway is refused by the hook', async () => {
    const dir = await ensureAppRepo(reposDir, 'zeta');
    const work = join(scratch, 'work');
    git(scratch, 'init', '-q', '-b', 'main', work);
    writeFileSync(join(work, 'a.txt'), 'a\n');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'a');
    const push = spawnSync('git', ['push', dir, 'main'], { cwd: work, env, encoding: 'utf8' });
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /managed by Slipway/);
    assert.equal(spawnSync('git', ['show-ref', 'refs/heads/main'], { cwd: dir, env }).status, 1);
  });
});
