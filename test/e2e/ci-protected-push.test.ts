// Protected branches and tags of a CI project refuse pushes that delete them or rewrite them
// (force pushes), as GitLab does by default: per ref, with a message on the pusher's terminal,
// while the other refs of the same push go through; a refused ref runs no pipeline. A protected
// branch may allow force pushes (`ci:protect --allow-force-push`, PATCH allow_force_push).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLI, startSlipway, type Slipway } from '../helpers/slipway.js';
import { exec, type ExecResult } from '../helpers/exec.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

const CI = 'show:\n  script: echo "ref=$CI_COMMIT_REF_NAME protected=$CI_COMMIT_REF_PROTECTED"\n';

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'guarded');
  await p.commit({ '.gitlab-ci.yml': CI, 'app.txt': 'v1\n' }, 'first');
  await p.push('main');
  await p.commit({ 'app.txt': 'v2\n' }, 'second');
  await p.push('main');
});

after(async () => {
  await s?.destroy();
});

const cli = (...args: string[]) =>
  exec(process.execPath, [CLI, ...args], { cwd: p.dir, env: { HOME: p.dir, SLIPWAY_CONFIG_DIR: join(p.dir, '.slipway-config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' } });

/** A push that may be refused in part: its result, unchecked. */
const tryPush = (...args: string[]): Promise<ExecResult> => p.git('push', '--porcelain', ...args.filter((a) => a.startsWith('-')), p.url, ...args.filter((a) => !a.startsWith('-')));

const pipelineCount = async () => ((await p.api('GET', '/pipelines')).body as any[]).length;
const remoteTag = async (tag: string) => (await p.git('ls-remote', p.url, `refs/tags/${tag}`)).stdout.split(/\s/)[0] || undefined;

test('a force push to the protected default branch is refused for that ref only; no pipeline runs for it', async () => {
  const mainTip = await p.remoteBranch('main');
  await p.checkout('feature');
  const feature = await p.commit({ 'feature.txt': 'f\n' }, 'feature');
  await p.checkout('main');
  assert.equal((await p.git('reset', '-q', '--hard', 'HEAD~1')).code, 0);
  const rewritten = await p.commit({ 'app.txt': 'rewritten\n' }, 'rewritten history');
  const before = await pipelineCount();

  const push = await tryPush('--force', 'main', 'feature');
  assert.notEqual(push.code, 0, 'a partly refused push fails');
  const output = push.stdout + push.stderr;
  assert.match(output, /remote: main is a protected branch: force pushes are not allowed\./);
  assert.match(output, /remote: or allow force pushes: slipway ci:protect -p guarded --branch main --allow-force-push/);
  assert.match(output, /!\trefs\/heads\/main:refs\/heads\/main\t\[remote rejected\] \(hook declined\)/);
  assert.match(output, /\*\trefs\/heads\/feature:refs\/heads\/feature\t\[new branch\]/);
  assert.equal(await p.remoteBranch('main'), mainTip, 'main was left as it was');
  assert.equal(await p.remoteBranch('feature'), feature, 'the other ref of the push went through');
  assert.equal((output.match(/Pipeline #\d+/g) ?? []).length, 1, output);
  assert.equal(await pipelineCount(), before + 1);
  const pipelines = (await p.api('GET', '/pipelines')).body as any[];
  assert.ok(!pipelines.some((x) => x.sha === rewritten), 'no pipeline for the refused commit');
  const pipeline = await p.finishedPipeline('the feature pipeline', (x) => x.ref === 'feature');
  assert.equal(pipeline.status, 'success');

  // A fast-forward of the protected branch is an ordinary push.
  assert.equal((await p.git('reset', '-q', '--hard', mainTip!)).code, 0);
  const next = await p.commit({ 'app.txt': 'v3\n' }, 'third');
  await p.push('main');
  assert.equal(await p.remoteBranch('main'), next);
});

test('protected branches and tags cannot be deleted or (tags) moved; unprotected refs in the same push can', async () => {
  assert.equal((await cli('ci:protect', '-p', p.name, '--branch', 'release/*')).code, 0);
  assert.equal((await cli('ci:protect', '-p', p.name, '--tag', 'v*')).code, 0);
  await p.checkout('release/1');
  await p.git('tag', 'v1');
  await p.checkout('scratch');
  await p.git('tag', 'scratch-tag');
  await p.push('release/1', 'scratch', 'v1', 'scratch-tag');
  const release = await p.remoteBranch('release/1');
  const v1 = await remoteTag('v1');

  const push = await tryPush(':release/1', ':scratch', ':v1', ':scratch-tag');
  assert.notEqual(push.code, 0);
  const output = push.stdout + push.stderr;
  assert.match(output, /remote: release\/1 is a protected branch \(release\/\*\): it cannot be deleted\./);
  assert.match(output, /remote: To delete it, unprotect it first: slipway ci:unprotect -p guarded --branch 'release\/\*'/);
  assert.match(output, /remote: v1 is a protected tag \(v\*\): it cannot be deleted\./);
  assert.match(output, /!\t:refs\/heads\/release\/1\t\[remote rejected\] \(hook declined\)/);
  assert.match(output, /!\t:refs\/tags\/v1\t\[remote rejected\] \(hook declined\)/);
  assert.match(output, /-\t:refs\/heads\/scratch\t\[deleted\]/);
  assert.match(output, /-\t:refs\/tags\/scratch-tag\t\[deleted\]/);
  assert.equal(await p.remoteBranch('release/1'), release);
  assert.equal(await remoteTag('v1'), v1);
  assert.equal(await p.remoteBranch('scratch'), undefined);
  assert.equal(await remoteTag('scratch-tag'), undefined);

  // A protected tag never moves, even forced.
  await p.commit({ 'scratch.txt': 'x\n' }, 'elsewhere');
  await p.git('tag', '-f', 'v1');
  const moved = await tryPush('--force', 'refs/tags/v1');
  assert.notEqual(moved.code, 0);
  assert.match(moved.stdout + moved.stderr, /remote: v1 is a protected tag \(v\*\): it cannot be moved/);
  assert.equal(await remoteTag('v1'), v1);
});

test('a protected branch may allow force pushes (ci:protect --allow-force-push), and refuse them again', async () => {
  const allow = await cli('ci:protect', '-p', p.name, '--branch', 'release/*', '--allow-force-push');
  assert.equal(allow.code, 0, allow.stderr);
  assert.match(allow.stdout, /Updated protected branch release\/\* on guarded \(force pushes allowed\)/);
  assert.match((await cli('ci:protected', '-p', p.name)).stdout, /branch\s+release\/\*\s+force push allowed/);
  const listed = ((await p.api('GET', '/protected-branches')).body as any[]).find((b) => b.name === 'release/*');
  assert.equal(listed.allow_force_push, true);

  await p.checkout('release/1');
  assert.equal((await p.git('reset', '-q', '--hard', 'main')).code, 0);
  const rewritten = await p.commit({ 'release.txt': 'r\n' }, 'rewritten release');
  const forced = await tryPush('--force', 'release/1');
  assert.equal(forced.code, 0, forced.stdout + forced.stderr);
  assert.match(forced.stderr, /Pipeline #\d+/);
  assert.equal(await p.remoteBranch('release/1'), rewritten);
  // Deleting it is still refused: force pushes do not include deletion (as in GitLab).
  assert.notEqual((await tryPush(':release/1')).code, 0);

  assert.equal((await cli('ci:protect', '-p', p.name, '--branch', 'release/*', '--no-force-push')).code, 0);
  assert.equal((await p.git('reset', '-q', '--hard', 'main')).code, 0);
  await p.commit({ 'release.txt': 'again\n' }, 'rewritten again');
  const refused = await tryPush('--force', 'release/1');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /release\/1 is a protected branch \(release\/\*\): force pushes are not allowed/);
  assert.equal(await p.remoteBranch('release/1'), rewritten);

  // Bad input.
  assert.equal((await p.api('PATCH', '/protected-branches/main', { allow_force_push: 'yes' })).status, 422);
  assert.equal((await p.api('POST', '/protected-tags', { name: 'rel-*', allow_force_push: true })).status, 422);
  assert.equal((await p.api('PATCH', `/protected-branches/${encodeURIComponent('nope/*')}`, { allow_force_push: true })).status, 404);
});
