// CI_OPEN_MERGE_REQUESTS: in branch and merge request pipelines, the open merge requests whose
// source is the pipeline's branch (newest first, at most four, `<project path>!<iid>`); unset
// without any, and in tag pipelines. GitLab's recipe against duplicate pipelines works with it:
// `$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS` → `when: never` in workflow:rules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

const CI = [
  'workflow:',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
  '    - if: $CI_COMMIT_BRANCH == "dedup" && $CI_OPEN_MERGE_REQUESTS',
  '      when: never',
  '    - if: $CI_COMMIT_BRANCH',
  '    - if: $CI_COMMIT_TAG',
  'show:',
  '  rules:',
  '    - when: on_success',
  '  script: echo "source=$CI_PIPELINE_SOURCE open=[${CI_OPEN_MERGE_REQUESTS-unset}]"',
  '',
].join('\n');

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'omr');
  await p.commit({ '.gitlab-ci.yml': CI }, 'ci');
  await p.push('main');
});

after(async () => {
  await s?.destroy();
});

/** What the pipeline's job saw. */
async function openSeen(pipeline: { id: number }): Promise<string> {
  const finished = await p.finishedPipeline(`pipeline #${pipeline.id}`, (x) => x.id === pipeline.id);
  assert.equal(finished.status, 'success', JSON.stringify(finished));
  const m = /^source=(\S+) open=\[([^\]]*)\]/m.exec(await p.jobLog(finished, 'show'));
  assert.ok(m, `no output in pipeline #${pipeline.id}`);
  return `${m[1]} ${m[2]}`;
}

const pushPipeline = async (ref: string, sha: string) => p.finishedPipeline(`the push pipeline of ${ref}`, (x) => x.source === 'push' && x.ref === ref && x.sha === sha);

async function openMr(source: string, target: string): Promise<any> {
  const created = await p.api('POST', '/merge_requests', { source_branch: source, target_branch: target });
  assert.equal(created.status, 201, created.text);
  return created.body;
}

test('branch and merge request pipelines list the open merge requests of their branch, newest first, at most four', async () => {
  await p.push('main:release', 'main:t3', 'main:t4', 'main:t5');
  await p.checkout('feat');
  const first = await p.commit({ 'feat.txt': '1\n' }, 'feat');
  await p.push('feat');
  assert.equal(await openSeen(await pushPipeline('feat', first)), 'push unset');

  const one = await openMr('feat', 'main');
  assert.equal(await openSeen(one.head_pipeline), 'merge_request_event projects/omr!1');
  const two = await openMr('feat', 'release');
  assert.equal(await openSeen(two.head_pipeline), 'merge_request_event projects/omr!2,projects/omr!1');
  for (const target of ['t3', 't4', 't5']) await openMr('feat', target);

  const second = await p.commit({ 'feat.txt': '2\n' }, 'feat again');
  await p.push('feat');
  assert.equal(await openSeen(await pushPipeline('feat', second)), 'push projects/omr!5,projects/omr!4,projects/omr!3,projects/omr!2');

  // Closed merge requests are not open; a tag pipeline has none.
  for (const iid of [2, 3, 4, 5]) assert.equal((await p.api('POST', `/merge_requests/${iid}/close`)).status, 200);
  const third = await p.commit({ 'feat.txt': '3\n' }, 'feat once more');
  await p.push('feat');
  assert.equal(await openSeen(await pushPipeline('feat', third)), 'push projects/omr!1');
  await p.git('tag', 'v1');
  await p.push('v1');
  assert.equal(await openSeen(await pushPipeline('v1', third)), 'push unset');
  // Another branch has none.
  assert.equal(await openSeen(await pushPipeline('t3', await p.remoteBranch('t3') as string)), 'push unset');
});

test('workflow:rules with $CI_OPEN_MERGE_REQUESTS avoid duplicate pipelines', async () => {
  await p.checkout('dedup', 'main');
  const first = await p.commit({ 'dedup.txt': '1\n' }, 'dedup');
  await p.push('dedup');
  await pushPipeline('dedup', first);
  const mr = await openMr('dedup', 'main');

  const second = await p.commit({ 'dedup.txt': '2\n' }, 'dedup again');
  const pushed = await p.git('push', p.url, 'dedup');
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stderr, /remote: No pipeline for dedup/);
  const pipelines = (await p.api('GET', '/pipelines')).body as any[];
  assert.ok(!pipelines.some((x) => x.source === 'push' && x.sha === second), 'no branch pipeline while the merge request is open');
  const mrPipeline = await p.finishedPipeline('the merge request pipeline', (x) => x.source === 'merge_request_event' && x.sha === second);
  assert.equal(await openSeen(mrPipeline), `merge_request_event projects/omr!${mr.iid}`);
});
