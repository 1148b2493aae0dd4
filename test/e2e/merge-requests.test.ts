// Merge requests through the API: opening one runs a merge_request_event pipeline with the
// CI_MERGE_REQUEST_* variables (read back from a job's log), every push to the source branch
// runs another, close/reopen, a deleted source branch closes it, and bad input is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

// Branch pipelines run `branch`; merge request pipelines run `mr`, which prints its variables.
const CI = [
  'branch:',
  '  script: echo "branch pipeline for $CI_COMMIT_BRANCH"',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "push"',
  'mr:',
  '  script:',
  '    - echo "iid=$CI_MERGE_REQUEST_IID id=$CI_MERGE_REQUEST_ID source=$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME target=$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"',
  '    - echo "ref=$CI_COMMIT_REF_NAME branch=${CI_COMMIT_BRANCH-unset} pipeline_source=$CI_PIPELINE_SOURCE event=$CI_MERGE_REQUEST_EVENT_TYPE"',
  '    - echo "title=$CI_MERGE_REQUEST_TITLE labels=$CI_MERGE_REQUEST_LABELS draft=$CI_MERGE_REQUEST_DRAFT"',
  '    - echo "base=$CI_MERGE_REQUEST_DIFF_BASE_SHA sha=$CI_COMMIT_SHA source_sha=[$CI_MERGE_REQUEST_SOURCE_BRANCH_SHA]"',
  '    - echo "path=$CI_MERGE_REQUEST_PROJECT_PATH refpath=$CI_MERGE_REQUEST_REF_PATH description=$CI_MERGE_REQUEST_DESCRIPTION"',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
  '',
].join('\n');

let mainSha: string;

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'mr-api');
  mainSha = await p.commit({ '.gitlab-ci.yml': CI, 'app.txt': 'v1\n' }, 'first');
  await p.push('main');
});

after(async () => {
  await s?.destroy();
});

const mrPipelines = async (iid: number) => (await p.api('GET', `/merge_requests/${iid}/pipelines`)).body as any[];

test('opening a merge request runs a merge request pipeline with the MR variables; pushes run more', async () => {
  await p.checkout('feature/login');
  const first = await p.commit({ 'login.txt': 'login\n' }, 'Add the login page');
  await p.push('feature/login');

  const created = await p.api('POST', '/merge_requests', { source_branch: 'feature/login', target_branch: 'main', labels: 'ui,backend', description: 'Adds a login page.' });
  assert.equal(created.status, 201, created.text);
  const mr = created.body;
  assert.equal(mr.iid, 1);
  assert.equal(mr.state, 'opened');
  assert.equal(mr.title, 'Add the login page', 'a one-commit merge request is titled after its commit');
  assert.equal(mr.source_branch, 'feature/login');
  assert.equal(mr.target_branch, 'main');
  assert.equal(mr.sha, first);
  assert.deepEqual(mr.labels, ['ui', 'backend']);
  assert.equal(mr.review_app, null);
  assert.ok(mr.author.email);
  assert.match(mr.web_url, /\/projects\/mr-api\/merge_requests\/1$/);
  assert.ok(mr.messages.some((m: string) => /^Pipeline #\d+: /.test(m)), mr.messages.join('\n'));
  assert.equal(mr.head_pipeline.source, 'merge_request_event');
  assert.equal(mr.head_pipeline.sha, first);

  const pipeline = await p.finishedPipeline('the MR pipeline', (x) => x.id === mr.head_pipeline.id);
  assert.equal(pipeline.status, 'success', JSON.stringify(pipeline));
  assert.equal(pipeline.source, 'merge_request_event');
  assert.equal(pipeline.ref, 'feature/login');
  assert.deepEqual(pipeline.jobs.map((j: any) => j.name), ['mr']);
  const log = await p.jobLog(pipeline, 'mr');
  assert.match(log, new RegExp(`iid=1 id=${mr.id} source=feature/login target=main`));
  assert.match(log, /ref=feature\/login branch=unset pipeline_source=merge_request_event event=detached/);
  assert.match(log, /title=Add the login page labels=ui,backend draft=false/);
  assert.match(log, new RegExp(`base=${mainSha} sha=${first} source_sha=\\[\\]`));
  assert.match(log, /path=projects\/mr-api refpath=refs\/merge-requests\/1\/head description=Adds a login page\./);

  // The branch pipeline of the same push ran too (GitLab's behaviour without workflow:rules).
  const branch = await p.finishedPipeline('the branch pipeline', (x) => x.ref === 'feature/login' && x.source === 'push');
  assert.deepEqual(branch.jobs.map((j: any) => j.name), ['branch']);

  // Another push to the source branch: a new merge request pipeline at the new head.
  const second = await p.commit({ 'login.txt': 'login v2\n' }, 'Polish the login page');
  await p.push('feature/login');
  const rerun = await p.finishedPipeline('the MR pipeline of the second push', (x) => x.source === 'merge_request_event' && x.sha === second);
  assert.equal(rerun.status, 'success');
  const updated = (await p.api('GET', '/merge_requests/1')).body;
  assert.equal(updated.sha, second);
  assert.equal(updated.head_pipeline.id, rerun.id);
  assert.deepEqual((await mrPipelines(1)).map((x) => x.sha), [second, first]);
});

test('a configuration without merge request jobs makes no merge request pipeline', async () => {
  await p.checkout('plain', 'main');
  const sha = await p.commit({ '.gitlab-ci.yml': 'test:\n  script: echo only branches\n' }, 'Only branch jobs');
  await p.push('plain');
  const created = await p.api('POST', '/merge_requests', { source_branch: 'plain', target_branch: 'main', title: 'Draft: plain jobs' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.draft, true);
  assert.ok(created.body.messages.some((m: string) => /No pipeline/.test(m)), created.body.messages.join('\n'));
  assert.deepEqual(await mrPipelines(created.body.iid), []);
  // The head pipeline falls back to the source branch's own pipeline at that commit.
  const shown = await waitFor('the branch pipeline as head pipeline', async () => (await p.api('GET', `/merge_requests/${created.body.iid}`)).body.head_pipeline);
  assert.equal(shown.source, 'push');
  assert.equal(shown.sha, sha);
});

test('close and reopen; reopening runs the pipeline again; a deleted source branch closes it', async () => {
  await p.checkout('docs', 'main');
  await p.commit({ 'README.md': 'docs\n' }, 'Docs one');
  await p.commit({ 'README.md': 'docs two\n' }, 'Docs two');
  await p.push('docs');
  const mr = (await p.api('POST', '/merge_requests', { source_branch: 'docs' })).body;
  assert.equal(mr.target_branch, 'main', 'the target defaults to the default branch');
  assert.equal(mr.title, 'Docs', 'a merge request of several commits is titled after its branch');
  const closed = await p.api('POST', `/merge_requests/${mr.iid}/close`);
  assert.equal(closed.status, 200, closed.text);
  assert.equal(closed.body.state, 'closed');
  assert.ok(closed.body.closed_at);
  assert.equal(closed.body.closed_by.email, mr.author.email);
  assert.equal((await p.api('POST', `/merge_requests/${mr.iid}/close`)).status, 409);
  assert.deepEqual(((await p.api('GET', '/merge_requests?state=closed')).body as any[]).map((x) => x.iid), [mr.iid]);

  const before = (await mrPipelines(mr.iid)).length;
  const reopened = await p.api('PUT', `/merge_requests/${mr.iid}`, { state_event: 'reopen', title: 'Better docs' });
  assert.equal(reopened.status, 200, reopened.text);
  assert.equal(reopened.body.state, 'opened');
  assert.equal(reopened.body.title, 'Better docs');
  assert.equal(reopened.body.closed_at, null);
  assert.equal((await mrPipelines(mr.iid)).length, before + 1);
  assert.equal((await p.api('POST', `/merge_requests/${mr.iid}/reopen`)).status, 409);

  await p.push(':docs');
  const gone = await waitFor('the merge request to close', async () => {
    const body = (await p.api('GET', `/merge_requests/${mr.iid}`)).body;
    return body.state === 'closed' ? body : undefined;
  });
  assert.ok(gone.closed_by);
  const again = await p.api('POST', `/merge_requests/${mr.iid}/reopen`);
  assert.equal(again.status, 422);
  assert.match(again.body.message, /has no branch docs/);
});

test('a push that brings the head into the target marks the merge request merged', async () => {
  await p.checkout('hotfix', 'main');
  const sha = await p.commit({ 'fix.txt': 'fix\n' }, 'Hotfix');
  await p.push('hotfix');
  const mr = (await p.api('POST', '/merge_requests', { source_branch: 'hotfix', target_branch: 'main' })).body;
  await p.push('hotfix:main');
  const merged = await waitFor('the merge request to be merged', async () => {
    const body = (await p.api('GET', `/merge_requests/${mr.iid}`)).body;
    return body.state === 'merged' ? body : undefined;
  });
  assert.equal(merged.sha, sha);
  assert.equal(merged.merge_commit_sha, null);
  assert.ok(merged.merged_by);
});

test('bad input: clear errors, nothing created', async () => {
  const count = async () => ((await p.api('GET', '/merge_requests')).body as any[]).length;
  const n = await count();
  const expect = async (body: unknown, status: number, message: RegExp) => {
    const res = await p.api('POST', '/merge_requests', body);
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.id, status === 409 ? 'conflict' : 'invalid_params');
    assert.match(res.body.message, message);
  };
  await expect({}, 422, /needs a source branch/);
  await expect({ source_branch: 42 }, 422, /branch name/);
  await expect({ source_branch: 'nope', target_branch: 'main' }, 422, /has no branch nope: push it first/);
  await expect({ source_branch: 'feature/login', target_branch: 'nope' }, 422, /has no branch nope to merge into/);
  await expect({ source_branch: 'main', target_branch: 'main' }, 422, /both main/);
  await expect({ source_branch: 'feature/login', target_branch: 'main' }, 409, /already proposes feature\/login for main: !1/);
  await expect({ source_branch: 'feature/login', title: '' }, 422, /title/);
  await expect({ source_branch: 'feature/login', title: 'x'.repeat(300) }, 422, /too long/);
  await expect({ source_branch: 'feature/login', labels: [1] }, 422, /labels/);
  assert.equal(await count(), n);

  assert.equal((await p.api('GET', '/merge_requests?state=weird')).status, 422);
  assert.equal((await p.api('GET', '/merge_requests/99')).status, 404);
  assert.equal((await p.api('GET', '/merge_requests/x')).status, 404);
  assert.equal((await p.api('PUT', '/merge_requests/1', { state_event: 'explode' })).status, 422);
  assert.equal((await p.api('PUT', '/merge_requests/1/merge', { sha: 'abc' })).status, 422);
  const stale = await p.api('PUT', '/merge_requests/1/merge', { sha: mainSha });
  assert.equal(stale.status, 409);
  assert.match(stale.body.message, /feature\/login is at [0-9a-f]{8}, not/);
  assert.equal((await s.api('GET', '/projects/mr-nothing/merge_requests')).status, 404);
  assert.equal((await p.api('GET', '/merge_requests/1')).body.state, 'opened');
});
