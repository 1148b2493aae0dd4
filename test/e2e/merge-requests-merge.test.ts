// Merging merge requests with the `slipway` CLI: a fast-forward and a merge commit move the
// target branch in the bare repository (checked with a fresh clone) and run the target's branch
// pipeline like a push; conflicts are refused with the files named and nothing moves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, type Slipway } from '../helpers/slipway.js';
import { exec, git } from '../helpers/exec.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;
let cli: (...args: string[]) => ReturnType<typeof exec>;

const CI = ['test:', '  script: echo "pipeline for $CI_COMMIT_REF_NAME from $CI_PIPELINE_SOURCE"', ''].join('\n');

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'mr-merge');
  await p.commit({ '.gitlab-ci.yml': CI, 'app.txt': 'line one\nline two\n' }, 'first');
  await p.push('main');
  const home = mkdtempSync(join(tmpdir(), 'slipway-mr-cli-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  cli = (...args: string[]) => exec(process.execPath, [CLI, ...args, '-p', 'mr-merge'], { cwd: home, env });
});

after(async () => {
  await s?.destroy();
});

/** A fresh clone of the project: what the bare repository really holds. */
async function cloneMain(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-mr-clone-'));
  const cloned = await git(dir, 'clone', '-q', '--branch', 'main', p.url, 'work');
  assert.equal(cloned.code, 0, cloned.stderr);
  return join(dir, 'work');
}

test('mr:create, mr:list, mr:show and a fast-forward mr:merge through the CLI', async () => {
  await p.checkout('feat', 'main');
  const head = await p.commit({ 'feature.txt': 'new feature\n' }, 'Add the feature');
  await p.push('feat');

  const created = await cli('mr:create', '--source', 'feat', '--target', 'main', '--title', 'The feature', '--labels', 'x,y');
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Opened !1 feat → main: The feature/);
  assert.match(created.stdout, /No pipeline/, 'a job without rules is not in merge request pipelines');

  const list = await cli('mr:list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /!1\s+opened\s+feat → main\s+The feature/);
  const shown = await cli('mr:show', '1');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /State:\s+opened/);
  assert.match(shown.stdout, /Labels:\s+x, y/);
  assert.match(shown.stdout, new RegExp(`Head:\\s+${head}`));

  const merged = await cli('mr:merge', '!1');
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /Fast-forwarded main to [0-9a-f]{8}\./);
  assert.match(merged.stdout, /Pipeline #\d+: http/);
  assert.match(merged.stdout, /Merged !1 feat → main/);
  assert.equal(await p.remoteBranch('main'), head);
  const work = await cloneMain();
  assert.equal(readFileSync(join(work, 'feature.txt'), 'utf8'), 'new feature\n');

  const pipeline = await p.finishedPipeline('the push pipeline on main', (x) => x.ref === 'main' && x.sha === head);
  assert.equal(pipeline.source, 'push');
  assert.equal(pipeline.status, 'success');
  assert.match(await p.jobLog(pipeline, 'test'), /pipeline for main from push/);

  const json = JSON.parse((await cli('mr:list', '--state', 'merged', '--json')).stdout);
  assert.deepEqual(json.map((m: any) => [m.iid, m.state, m.merge_commit_sha]), [[1, 'merged', null]]);
  assert.ok(json[0].merged_by.email);
  const again = await cli('mr:merge', '1');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already merged/);
  const bad = await cli('mr:show', 'one');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a merge request number/);
});

test('a merge commit when the target moved on; the source branch can be removed', async () => {
  await p.checkout('topic', 'main');
  const topic = await p.commit({ 'topic.txt': 'topic\n' }, 'Topic work');
  await p.push('topic');
  await p.checkout('main');
  await p.git('pull', '-q', '--ff-only', p.url, 'main');
  const mainBefore = await p.commit({ 'other.txt': 'other\n' }, 'Other work on main');
  await p.push('main');

  const created = await p.api('POST', '/merge_requests', { source_branch: 'topic', target_branch: 'main' });
  assert.equal(created.status, 201, created.text);
  const merged = await cli('mr:merge', String(created.body.iid), '--remove-source-branch');
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /Merged topic into main as [0-9a-f]{8}\./);
  assert.match(merged.stdout, /Deleted the source branch topic\./);

  const mr = (await p.api('GET', `/merge_requests/${created.body.iid}`)).body;
  assert.equal(mr.state, 'merged');
  assert.match(mr.merge_commit_sha, /^[0-9a-f]{40}$/);
  assert.equal(await p.remoteBranch('main'), mr.merge_commit_sha);
  assert.equal(await p.remoteBranch('topic'), undefined);
  const work = await cloneMain();
  const parents = (await git(work, 'log', '-1', '--format=%P')).stdout.trim().split(' ');
  assert.deepEqual(parents, [mainBefore, topic]);
  assert.match((await git(work, 'log', '-1', '--format=%s')).stdout, /Merge branch 'topic' into 'main'/);
  assert.equal(readFileSync(join(work, 'topic.txt'), 'utf8'), 'topic\n');
  assert.equal(readFileSync(join(work, 'other.txt'), 'utf8'), 'other\n');
  const pipeline = await p.finishedPipeline('the push pipeline of the merge commit', (x) => x.ref === 'main' && x.sha === mr.merge_commit_sha);
  assert.equal(pipeline.status, 'success');
});

test('conflicts are refused with the files named; nothing moves', async () => {
  await p.checkout('main');
  await p.git('pull', '-q', '--ff-only', p.url, 'main');
  await p.checkout('left', 'main');
  await p.commit({ 'app.txt': 'line one\nleft\n' }, 'Left');
  await p.push('left');
  await p.checkout('main');
  await p.commit({ 'app.txt': 'line one\nright\n' }, 'Right');
  await p.push('main');
  const mainSha = await p.remoteBranch('main');

  const created = await p.api('POST', '/merge_requests', { source_branch: 'left', target_branch: 'main' });
  const refused = await p.api('POST', `/merge_requests/${created.body.iid}/merge`);
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.body.id, 'merge_conflict');
  assert.deepEqual(refused.body.conflicts, ['app.txt']);
  assert.match(refused.body.message, /left and main conflict in app\.txt/);
  const viaCli = await cli('mr:merge', String(created.body.iid));
  assert.equal(viaCli.code, 1);
  assert.match(viaCli.stderr, /conflict in app\.txt/);
  assert.equal(await p.remoteBranch('main'), mainSha);
  assert.equal((await p.api('GET', `/merge_requests/${created.body.iid}`)).body.state, 'opened');

  const closed = await cli('mr:close', String(created.body.iid));
  assert.equal(closed.code, 0, closed.stderr);
  assert.match(closed.stdout, /Closed !\d+ left → main/);
  const closedMerge = await cli('mr:merge', String(created.body.iid));
  assert.equal(closedMerge.code, 1);
  assert.match(closedMerge.stderr, /is closed; reopen it/);
  const reopened = await cli('mr:reopen', String(created.body.iid));
  assert.equal(reopened.code, 0, reopened.stderr);
  assert.match(reopened.stdout, /Reopened !\d+ left → main/);
});

test('a failed pipeline: refused when a green one is required, else merged with a warning', async () => {
  await p.checkout('main');
  await p.git('pull', '-q', '--ff-only', p.url, 'main');
  await p.checkout('red', 'main');
  const head = await p.commit({ '.gitlab-ci.yml': 'test:\n  script: exit 1\n' }, 'Break the tests');
  await p.push('red');
  const failed = await p.finishedPipeline('the failing branch pipeline', (x) => x.ref === 'red' && x.sha === head);
  assert.equal(failed.status, 'failed');

  const created = (await p.api('POST', '/merge_requests', { source_branch: 'red', target_branch: 'main' })).body;
  assert.equal(created.head_pipeline.id, failed.id, 'without merge request jobs the branch pipeline is the head pipeline');
  const strict = await cli('mr:merge', String(created.iid), '--only-if-pipeline-succeeds');
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, new RegExp(`its pipeline #${failed.id} is failed`));
  assert.equal((await p.api('GET', `/merge_requests/${created.iid}`)).body.state, 'opened');
  const merged = await cli('mr:merge', String(created.iid), '--sha', head);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, new RegExp(`Warning: the latest pipeline of !${created.iid} \\(#${failed.id}\\) failed; merged anyway\\.`));
  assert.equal(await p.remoteBranch('main'), head);
});
