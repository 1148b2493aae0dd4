// include:project on the server: a pipeline includes files of another hosted project at a
// ref (or its default branch), nested local includes resolve inside that project, and a
// project the pipeline's user cannot read is a configuration error at the include line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let templates: ProjectRepo;

before(async () => {
  s = await startSlipway();
  templates = await ProjectRepo.create(s, 'ci-templates');
  await templates.commit({
    'jobs/test.yml': 'include: jobs/common.yml\nshared-test:\n  extends: .common\n  script: echo "shared test on $CI_PROJECT_NAME with $FROM_COMMON"\n',
    'jobs/common.yml': '.common:\n  variables:\n    FROM_COMMON: main-branch\n',
  });
  await templates.push('main');
  await templates.checkout('v2');
  await templates.commit({ 'jobs/common.yml': '.common:\n  variables:\n    FROM_COMMON: v2-branch\n' });
  await templates.push('v2');
});

after(async () => {
  await s?.destroy();
});

test('a pipeline includes another project’s files, at its default branch or a given ref', async () => {
  const app = await ProjectRepo.create(s, 'inc-web');
  await app.commit({
    '.gitlab-ci.yml': [
      'include:',
      '  - project: ci-templates',
      '    file: /jobs/test.yml',
      'own:',
      '  script: echo own',
      '',
    ].join('\n'),
  });
  await app.push('main');
  const first = await app.finishedPipeline('the main pipeline', (p) => p.ref === 'main');
  assert.equal(first.status, 'success', JSON.stringify(first));
  assert.deepEqual(first.jobs.map((j: any) => j.name).sort(), ['own', 'shared-test']);
  const job = first.jobs.find((j: any) => j.name === 'shared-test');
  const log = (await app.api('GET', `/jobs/${job.id}/log?follow=false`)).text;
  assert.match(log, /shared test on inc-web with main-branch/);

  await app.checkout('pinned');
  await app.commit({ '.gitlab-ci.yml': 'include:\n  - project: projects/ci-templates\n    ref: v2\n    file: [jobs/test.yml]\n' });
  await app.push('pinned');
  const pinned = await app.finishedPipeline('the pinned pipeline', (p) => p.ref === 'pinned');
  assert.equal(pinned.status, 'success', JSON.stringify(pinned));
  const pinnedJob = pinned.jobs.find((j: any) => j.name === 'shared-test');
  assert.match((await app.api('GET', `/jobs/${pinnedJob.id}/log?follow=false`)).text, /with v2-branch/);
});

test('a missing file, ref or unreadable project fails the pipeline with the include line', async () => {
  const app = await ProjectRepo.create(s, 'inc-bad');
  await app.commit({ '.gitlab-ci.yml': 'job:\n  script: x\ninclude:\n  - project: ci-templates\n    file: nope.yml\n' });
  const missingFile = await app.push('main');
  assert.match(missingFile.stderr, /\.gitlab-ci\.yml:4: included file "nope\.yml" does not exist in project ci-templates/);

  await app.commit({ '.gitlab-ci.yml': 'job:\n  script: x\ninclude:\n  - project: ci-templates\n    ref: no-such-branch\n    file: jobs/test.yml\n' });
  const missingRef = await app.push('main');
  assert.match(missingRef.stderr, /include:project ci-templates@no-such-branch: project ci-templates has no branch, tag or commit "no-such-branch"/);

  // A second user may not include the admin's project.
  const created = await s.api('POST', '/accounts', { email: 'other@example.com' });
  assert.equal(created.status, 201, created.text);
  const other = created.body.api_key as string;
  const asOther = { Authorization: `Bearer ${other}` };
  const otherProject = await s.api('POST', '/projects', { name: 'inc-other' }, asOther);
  assert.equal(otherProject.status, 201, otherProject.text);
  await app.commit({ '.gitlab-ci.yml': 'job:\n  script: x\ninclude:\n  - project: ci-templates\n    file: jobs/test.yml\n' });
  const push = await app.git('push', '-q', `http://slipway:${other}@127.0.0.1:${s.port}/inc-other.git`, 'HEAD:main');
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stderr, /include:project ci-templates: project ci-templates does not exist or the pipeline's user cannot read it/);
  const pipelines = (await s.api('GET', '/projects/inc-other/pipelines', undefined, asOther)).body as any[];
  assert.equal(pipelines[0].status, 'failed');
  assert.equal(pipelines[0].failure_reason, 'config_error');
});

test('include:template and include:component say what to do instead', async () => {
  const app = await ProjectRepo.create(s, 'inc-tpl');
  await app.commit({ '.gitlab-ci.yml': 'include:\n  - template: Auto-DevOps.gitlab-ci.yml\njob:\n  script: x\n' });
  const push = await app.push('main');
  assert.match(push.stderr, /include:template is not supported: Slipway has no copy of GitLab's template library; copy the file into the repository and use include:local/);
});
