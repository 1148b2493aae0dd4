// environment:auto_stop_in with on_stop: when the timer runs out, Slipway plays the stop job of
// the deployment that started the environment, and the environment is stopped once that job
// succeeds; without an on_stop job it is stopped at once. Deleting a branch (git push :branch)
// does the same to the environments whose last deployment came from that branch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;

before(async () => {
  s = await startSlipway({ SLIPWAY_ENVIRONMENT_CHECK_MS: '200' });
});

after(async () => {
  await s?.destroy();
});

const environmentNamed = async (project: ProjectRepo, name: string) => ((await project.api('GET', '/environments')).body as any[]).find((e) => e.name === name);

test('auto_stop_in plays the on_stop job, which stops the environment', async () => {
  const project = await ProjectRepo.create(s, 'env-stop');
  await project.commit({
    '.gitlab-ci.yml': [
      'deploy-review:',
      '  script: echo "deploying $CI_ENVIRONMENT_NAME"',
      '  environment:',
      '    name: review/$CI_COMMIT_REF_SLUG',
      '    on_stop: stop-review',
      '    auto_stop_in: 1 second',
      'stop-review:',
      '  script: echo "stopping $CI_ENVIRONMENT_NAME"',
      '  when: manual',
      '  environment:',
      '    name: review/$CI_COMMIT_REF_SLUG',
      '    action: stop',
      'deploy-demo:',
      '  script: echo demo',
      '  environment:',
      '    name: demo',
      '    auto_stop_in: 1 second',
      '',
    ].join('\n'),
  });
  await project.push('main');
  const pipeline = await project.finishedPipeline('the pipeline', (p) => p.ref === 'main');
  assert.equal(pipeline.jobs.find((j: any) => j.name === 'deploy-review').status, 'success');

  const stopJob = await waitFor('the stop job to run and succeed', async () => {
    const jobs = (await project.api('GET', `/pipelines/${pipeline.id}`)).body.jobs as any[];
    const job = jobs.find((j: any) => j.name === 'stop-review');
    return job?.status === 'success' ? job : undefined;
  }, 60_000, 200);
  assert.match((await project.api('GET', `/jobs/${stopJob.id}/log?follow=false`)).text, /stopping review\/main/);
  await waitFor('review/main to be stopped', async () => ((await environmentNamed(project, 'review/main'))?.state === 'stopped' ? true : undefined), 30_000, 200);
  // No on_stop job: stopped by the timer itself.
  await waitFor('demo to be stopped', async () => ((await environmentNamed(project, 'demo'))?.state === 'stopped' ? true : undefined), 30_000, 200);
});

test('deleting a branch stops its environments: on_stop jobs are played, the others stopped at once', async () => {
  const project = await ProjectRepo.create(s, 'env-branch-stop');
  await project.commit({
    '.gitlab-ci.yml': [
      'deploy-review:',
      '  script: echo "deploying $CI_ENVIRONMENT_NAME"',
      '  environment:',
      '    name: review/$CI_COMMIT_REF_SLUG',
      '    on_stop: stop-review',
      'stop-review:',
      '  script: echo "stopping $CI_ENVIRONMENT_NAME"',
      '  when: manual',
      '  environment:',
      '    name: review/$CI_COMMIT_REF_SLUG',
      '    action: stop',
      'deploy-preview:',
      '  script: echo preview',
      '  environment:',
      '    name: preview/$CI_COMMIT_REF_SLUG',
      '',
    ].join('\n'),
  });
  await project.push('main');
  await project.checkout('feature');
  await project.commit({ 'feature.txt': 'f\n' }, 'feature');
  await project.push('feature');
  const feature = await project.finishedPipeline('the feature pipeline', (p) => p.ref === 'feature');
  await project.finishedPipeline('the main pipeline', (p) => p.ref === 'main');
  assert.equal(feature.status, 'success', JSON.stringify(feature.jobs));
  for (const name of ['review/main', 'review/feature', 'preview/main', 'preview/feature']) assert.equal((await environmentNamed(project, name))?.state, 'available', name);

  const deleted = await project.git('push', project.url, ':feature');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stderr, /remote: Stopping environment review\/feature: playing stop-review\./);
  assert.match(deleted.stderr, /remote: Stopped environment preview\/feature\./);
  assert.doesNotMatch(deleted.stderr, /environment (review|preview)\/main/);

  const stopJob = await waitFor('the stop job of review/feature to succeed', async () => {
    const jobs = (await project.api('GET', `/pipelines/${feature.id}`)).body.jobs as any[];
    const job = jobs.find((j: any) => j.name === 'stop-review');
    return job?.status === 'success' ? job : undefined;
  }, 60_000, 200);
  assert.match((await project.api('GET', `/jobs/${stopJob.id}/log?follow=false`)).text, /stopping review\/feature/);
  await waitFor('review/feature to be stopped', async () => ((await environmentNamed(project, 'review/feature'))?.state === 'stopped' ? true : undefined), 30_000, 200);
  assert.equal((await environmentNamed(project, 'preview/feature'))?.state, 'stopped');
  // The other branch's environments are untouched, and its stop job was not played.
  assert.equal((await environmentNamed(project, 'review/main'))?.state, 'available');
  assert.equal((await environmentNamed(project, 'preview/main'))?.state, 'available');
  const main = await project.finishedPipeline('the main pipeline', (p) => p.ref === 'main');
  assert.equal(main.jobs.find((j: any) => j.name === 'stop-review').status, 'manual');
});
