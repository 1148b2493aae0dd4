// A merge request's environments stop when it is merged or closed, as on GitLab: every available
// environment whose last deployment came from one of its merge request pipelines has its on_stop
// job played (as whoever merged or closed it), or is stopped at once without one. Environments of
// branch pipelines and of other merge requests stay. Reopening restarts nothing. A protected
// source branch is never removed by a merge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { git } from '../helpers/exec.js';
import { adminCli, gitUrl } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;

before(async () => {
  s = await startSlipway();
});

after(async () => {
  await s?.destroy();
});

const mrOnly = ['  rules:', '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"'];
const CI = [
  'deploy-review:',
  '  script: echo "deploying $CI_ENVIRONMENT_NAME"',
  '  environment:',
  '    name: review/$CI_COMMIT_REF_SLUG',
  '    on_stop: stop-review',
  ...mrOnly,
  'stop-review:',
  '  script: echo "stopping $CI_ENVIRONMENT_NAME"',
  '  environment:',
  '    name: review/$CI_COMMIT_REF_SLUG',
  '    action: stop',
  '  allow_failure: true',
  ...mrOnly,
  '      when: manual',
  'deploy-preview:',
  '  script: echo preview',
  '  environment:',
  '    name: preview/$CI_COMMIT_REF_SLUG',
  ...mrOnly,
  'deploy-branch:',
  '  script: echo branch',
  '  environment:',
  '    name: branch/$CI_COMMIT_REF_SLUG',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "push"',
  '',
].join('\n');

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any; text: string }>;

const stateOf = async (api: Api, name: string): Promise<string | undefined> => ((await api('GET', '/environments')).body as any[]).find((e) => e.name === name)?.state;

async function states(api: Api, names: string[]): Promise<Record<string, string | undefined>> {
  const all = (await api('GET', '/environments')).body as any[];
  return Object.fromEntries(names.map((n) => [n, all.find((e) => e.name === n)?.state]));
}

async function finishedPipeline(api: Api, what: string, match: (p: any) => boolean): Promise<any> {
  return waitFor(what, async () => {
    const found = ((await api('GET', '/pipelines')).body as any[]).find(match);
    if (!found || ['created', 'running'].includes(found.status)) return undefined;
    return (await api('GET', `/pipelines/${found.id}?include_retried=true`)).body;
  }, 120_000, 200);
}

/** The merge request pipeline's stop job once it succeeded, with every attempt of it. */
async function succeededStopJob(api: Api, pipelineId: number): Promise<{ job: any; attempts: any[] }> {
  return waitFor(`stop-review of pipeline #${pipelineId} to succeed`, async () => {
    const jobs = ((await api('GET', `/pipelines/${pipelineId}?include_retried=true`)).body.jobs as any[]).filter((j) => j.name === 'stop-review');
    const job = jobs.find((j) => !j.retried);
    return job?.status === 'success' ? { job, attempts: jobs } : undefined;
  }, 60_000, 200);
}

/** Whom a job attempt was played by (the API does not show it; GITLAB_USER_* is the pipeline's user). */
async function playedBy(jobUuid: string): Promise<string | undefined> {
  const store = await openStore({ databaseUrl: s.env.DATABASE_URL, sqlitePath: join(s.dataDir, 'slipway.db') });
  try {
    const row = await store.db
      .selectFrom('ci_jobs')
      .innerJoin('accounts', 'accounts.id', 'ci_jobs.user_id')
      .select('accounts.email')
      .where('ci_jobs.id', '=', jobUuid)
      .executeTakeFirst();
    return row?.email;
  } finally {
    await store.close();
  }
}

async function waitStopped(api: Api, name: string): Promise<void> {
  await waitFor(`${name} to be stopped`, async () => ((await stateOf(api, name)) === 'stopped' ? true : undefined), 30_000, 200);
}

/** main with the CI file, then `branches` from it, each pushed with a commit of its own. */
async function setUp(p: ProjectRepo, branches: string[]): Promise<void> {
  await p.commit({ '.gitlab-ci.yml': CI }, 'CI');
  await p.push('main');
  for (const branch of branches) {
    await p.checkout(branch, 'main');
    await p.commit({ [`${branch}.txt`]: `${branch}\n` }, `Add ${branch}`);
    await p.push(branch);
  }
  await p.checkout('main');
}

async function openWithPipeline(api: Api, source: string): Promise<{ mr: any; pipeline: any }> {
  const created = await api('POST', '/merge_requests', { source_branch: source, target_branch: 'main' });
  assert.equal(created.status, 201, created.text);
  const pipeline = await finishedPipeline(api, `the merge request pipeline of ${source}`, (x) => x.source === 'merge_request_event' && x.ref === source);
  assert.equal(pipeline.status, 'success', JSON.stringify(pipeline.jobs));
  return { mr: created.body, pipeline };
}

test('merging stops the environments its merge request pipelines deployed; the CLI says which', async () => {
  const p = await ProjectRepo.create(s, 'mre-merge');
  const api: Api = (method, path, body) => p.api(method, path, body);
  await setUp(p, ['feat', 'other']);
  const feat = await openWithPipeline(api, 'feat');
  const other = await openWithPipeline(api, 'other');
  await finishedPipeline(api, 'the feat branch pipeline', (x) => x.source === 'push' && x.ref === 'feat');
  await finishedPipeline(api, 'the other branch pipeline', (x) => x.source === 'push' && x.ref === 'other');
  const names = ['review/feat', 'preview/feat', 'branch/feat', 'review/other', 'preview/other', 'branch/other'];
  assert.deepEqual(Object.values(await states(api, names)), names.map(() => 'available'));

  const merged = await adminCli(s, 'mr:merge', String(feat.mr.iid), '-p', p.name);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /Fast-forwarded main/);
  assert.match(merged.stdout, /Stopping environment review\/feat: playing stop-review\./);
  assert.match(merged.stdout, /Stopped environment preview\/feat\./);
  assert.doesNotMatch(merged.stdout, /environment (branch\/|review\/other|preview\/other)/);

  const { job } = await succeededStopJob(api, feat.pipeline.id);
  assert.match((await api('GET', `/jobs/${job.id}/log?follow=false`)).text, /stopping review\/feat/);
  await waitStopped(api, 'review/feat');
  assert.deepEqual(await states(api, names), {
    'review/feat': 'stopped',
    'preview/feat': 'stopped',
    'branch/feat': 'available',
    'review/other': 'available',
    'preview/other': 'available',
    'branch/other': 'available',
  });
  const otherJobs = (await api('GET', `/pipelines/${other.pipeline.id}`)).body.jobs as any[];
  assert.equal(otherJobs.find((j) => j.name === 'stop-review').status, 'manual');
});

test('closing stops them as the user who closes; reopening restarts nothing', async () => {
  // Another user owns the project, pushes and opens the merge request; the admin closes it.
  const account = await s.api('POST', '/accounts', { email: 'mre-owner@example.com' });
  assert.equal(account.status, 201, account.text);
  const asOwner = { Authorization: `Bearer ${account.body.api_key}` };
  assert.equal((await s.api('POST', '/projects', { name: 'mre-close' }, asOwner)).status, 201);
  const ownerApi: Api = (method, path, body) => s.api(method, `/projects/mre-close${path}`, body, asOwner);
  const adminApi: Api = (method, path, body) => s.api(method, `/projects/mre-close${path}`, body);
  const adminEmail = (await s.api('GET', '/account')).body.email as string;
  assert.notEqual(adminEmail, 'mre-owner@example.com');

  const dir = mkdtempSync(join(tmpdir(), 'slipway-mre-close-'));
  const url = gitUrl(s, 'mre-close', account.body.api_key);
  const run = async (...args: string[]) => {
    const r = await git(dir, ...args);
    assert.equal(r.code, 0, r.stderr);
  };
  await run('init', '-q', '-b', 'main');
  writeFileSync(join(dir, '.gitlab-ci.yml'), CI);
  await run('add', '-A');
  await run('commit', '-q', '-m', 'CI');
  await run('push', '-q', url, 'main');
  await run('checkout', '-q', '-b', 'feat');
  writeFileSync(join(dir, 'feat.txt'), 'feat\n');
  await run('add', '-A');
  await run('commit', '-q', '-m', 'Add feat');
  await run('push', '-q', url, 'feat');
  const first = await openWithPipeline(ownerApi, 'feat');

  const closed = await adminApi('POST', `/merge_requests/${first.mr.iid}/close`);
  assert.equal(closed.status, 200, closed.text);
  assert.equal(closed.body.state, 'closed');
  assert.deepEqual(closed.body.messages, ['Stopped environment preview/feat.', 'Stopping environment review/feat: playing stop-review.']);
  const stopped = await succeededStopJob(adminApi, first.pipeline.id);
  assert.match((await adminApi('GET', `/jobs/${stopped.job.id}/log?follow=false`)).text, /stopping review\/feat/);
  assert.equal(await playedBy(stopped.job.uuid), adminEmail);
  await waitStopped(adminApi, 'review/feat');
  assert.equal(await stateOf(adminApi, 'preview/feat'), 'stopped');
  assert.equal(await stateOf(adminApi, 'branch/feat'), 'available');

  const reopened = await ownerApi('POST', `/merge_requests/${first.mr.iid}/reopen`);
  assert.equal(reopened.status, 200, reopened.text);
  assert.doesNotMatch(JSON.stringify(reopened.body.messages), /environment/i);
  // The environments come back only through the new pipeline's deployments; the old stop job ran once.
  const second = await finishedPipeline(ownerApi, 'the reopened pipeline', (x) => x.source === 'merge_request_event' && x.id !== first.pipeline.id);
  assert.equal(second.status, 'success', JSON.stringify(second.jobs));
  const review = ((await ownerApi('GET', '/environments')).body as any[]).find((e) => e.name === 'review/feat');
  assert.equal(review.state, 'available');
  assert.equal(review.last_deployment.deployable.pipeline.id, second.id);
  assert.equal((await succeededStopJob(adminApi, first.pipeline.id)).attempts.length, 1);

  // Closing through an edit (state_event) stops the new deployments.
  const again = await ownerApi('PUT', `/merge_requests/${first.mr.iid}`, { state_event: 'close' });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body.messages, ['Stopped environment preview/feat.', 'Stopping environment review/feat: playing stop-review.']);
  const stoppedAgain = await succeededStopJob(ownerApi, second.id);
  assert.equal(await playedBy(stoppedAgain.job.uuid), 'mre-owner@example.com');
  await waitStopped(ownerApi, 'review/feat');
});

test('removing the source branch on merge stops its environments once; a protected source branch is kept', async () => {
  const p = await ProjectRepo.create(s, 'mre-remove');
  const api: Api = (method, path, body) => p.api(method, path, body);
  await setUp(p, ['feat']);
  const feat = await openWithPipeline(api, 'feat');
  await finishedPipeline(api, 'the feat branch pipeline', (x) => x.source === 'push' && x.ref === 'feat');

  const merged = await api('POST', `/merge_requests/${feat.mr.iid}/merge`, { should_remove_source_branch: true });
  assert.equal(merged.status, 200, merged.text);
  const messages = merged.body.messages as string[];
  assert.equal(messages.filter((m) => /environment review\/feat/.test(m)).length, 1, messages.join('\n'));
  assert.ok(messages.includes('Stopping environment review/feat: playing stop-review.'), messages.join('\n'));
  assert.ok(messages.includes('Stopped environment preview/feat.'), messages.join('\n'));
  assert.ok(messages.includes('Deleted the source branch feat.'), messages.join('\n'));
  // The branch's own environment stops with the deleted branch.
  assert.ok(messages.includes('Stopped environment branch/feat.'), messages.join('\n'));
  assert.equal(await p.remoteBranch('feat'), undefined);
  const { attempts } = await succeededStopJob(api, feat.pipeline.id);
  assert.equal(attempts.length, 1, 'the stop job was played once');
  await waitStopped(api, 'review/feat');

  const protect = await api('POST', '/protected-branches', { name: 'stable' });
  assert.equal(protect.status, 201, protect.text);
  await p.git('pull', '-q', '--ff-only', p.url, 'main');
  await p.checkout('stable', 'main');
  const head = await p.commit({ 'stable.txt': 'stable\n' }, 'Stabilise');
  await p.push('stable');
  const stable = await api('POST', '/merge_requests', { source_branch: 'stable', target_branch: 'main' });
  assert.equal(stable.status, 201, stable.text);
  const kept = await api('POST', `/merge_requests/${stable.body.iid}/merge`, { should_remove_source_branch: true });
  assert.equal(kept.status, 200, kept.text);
  assert.equal(kept.body.state, 'merged');
  assert.ok(kept.body.messages.includes('Kept the source branch stable: it is a protected branch.'), kept.body.messages.join('\n'));
  assert.doesNotMatch(kept.body.messages.join('\n'), /Deleted the source branch/);
  assert.equal(await p.remoteBranch('stable'), head);
  assert.equal(await p.remoteBranch('main'), head);
});

test('a push that merges the merge request stops its environments too', async () => {
  const p = await ProjectRepo.create(s, 'mre-push');
  const api: Api = (method, path, body) => p.api(method, path, body);
  await setUp(p, ['feat']);
  const feat = await openWithPipeline(api, 'feat');
  await p.git('merge', '-q', '--ff-only', 'feat');
  await p.push('main');
  await waitFor('the merge request to be merged', async () => ((await api('GET', `/merge_requests/${feat.mr.iid}`)).body.state === 'merged' ? true : undefined), 30_000, 200);
  await succeededStopJob(api, feat.pipeline.id);
  await waitStopped(api, 'review/feat');
  await waitStopped(api, 'preview/feat');
  assert.equal(await stateOf(api, 'branch/feat'), 'available');
});
