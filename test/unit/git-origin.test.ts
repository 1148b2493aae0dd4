// origin's URL read from a repository's config file must match what `git remote get-url
// origin` prints, and give way to git whenever the config could rewrite it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { originInConfig, originUrlFromConfig } from '../../src/cli/commands/git-origin.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

test('the URL read from .git/config is the one git prints, and null without an origin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-origin-'));
  try {
    git(dir, 'init', '-q');
    assert.equal(originUrlFromConfig(join(dir, '.git')), null);
    git(dir, 'remote', 'add', 'upstream', 'https://example.com/other/repo.git');
    git(dir, 'remote', 'add', 'origin', 'git@example.com:group/sub/shop.git');
    git(dir, 'config', '--add', 'remote.origin.url', 'https://mirror.example.com/shop.git');
    assert.equal(originUrlFromConfig(join(dir, '.git')), git(dir, 'remote', 'get-url', 'origin'));
    assert.equal(originUrlFromConfig(join(dir, '.git')), 'git@example.com:group/sub/shop.git');
    git(dir, 'config', 'url.https://rewritten.example.com/.insteadOf', 'git@example.com:');
    assert.equal(originUrlFromConfig(join(dir, '.git')), undefined, 'insteadOf: ask git');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config text that only git can read right is left to git', () => {
  assert.equal(originInConfig('[remote "origin"]\n\turl = https://h/p.git # a comment\n'), 'https://h/p.git');
  assert.equal(originInConfig('[Remote "origin"]\n\tURL=https://h/p.git\n'), 'https://h/p.git');
  assert.equal(originInConfig('[remote "Origin"]\n\turl = https://h/p.git\n'), null, 'the remote name is case-sensitive');
  assert.equal(originInConfig('[remote "origin"]\n\turl = "https://h/p q.git"\n'), undefined);
  assert.equal(originInConfig('[remote "origin"]\n\turl = https://h/\\\n p.git\n'), undefined);
  assert.equal(originInConfig('[remote.origin]\n\turl = https://h/p.git\n'), undefined);
  assert.equal(originInConfig('[include]\n\tpath = other\n[remote "origin"]\n\turl = https://h/p.git\n'), undefined);
  assert.equal(originInConfig('[remote "origin"] url = https://h/p.git\n'), undefined);
});
