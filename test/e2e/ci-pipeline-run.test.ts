// Running a pipeline by hand (GitLab's "Run pipeline" / POST /projects/:id/pipeline): a branch or
// tag's current commit, CI_PIPELINE_SOURCE web or api, pipeline variables with the highest
// precedence, and inputs for .gitlab-ci.yml's spec:inputs header. A real server, real pushes,
// real shell jobs, the real CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { adminCli } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

const CI = [
  'spec:',
  '  inputs:',
  '    environment:',
  '      default: staging',
  '      options: [staging, production]',
  '    replicas:',
  '      type: number',
  '      default: 1',
  '---',
  'variables:',
  '  GREETING: from-the-file',
  'build:',
  '  script: echo "build source=$CI_PIPELINE_SOURCE ref=$CI_COMMIT_REF_NAME greeting=$GREETING"',
  'deploy:',
  '  script: echo "deploying to $[[ inputs.environment ]] with $[[ inputs.replicas ]] replicas"',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "web" || $CI_PIPELINE_SOURCE == "api"',
  '',
].join('\n');

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'run-by-hand');
  await p.commit({ '.gitlab-ci.yml': CI });
  await p.push('main');
  await p.git('tag', 'v1.0.0');
  await p.push('v1.0.0');
  await p.finishedPipeline('the push pipeline of main', (x) => x.source === 'push' && !x.tag);
  await p.finishedPipeline('the push pipeline of v1.0.0', (x) => x.source === 'push' && x.tag);
});

after(async () => {
  await s?.destroy();
});

const cli = (...args: string[]) => adminCli(s, ...args);

test('ci:pipelines:create runs the default branch as a web pipeline, with variables and typed inputs', async () => {
  const run = await cli('ci:pipelines:create', '-p', p.name, '--variable', 'GREETING=from-the-run', '--input', 'environment=production', '--input', 'replicas=3');
  assert.equal(run.code, 0, run.stderr);
  const m = /Pipeline #(\d+): (\S+)/.exec(run.stdout);
  assert.ok(m, run.stdout);
  assert.match(run.stdout, new RegExp(`slipway ci:pipeline ${m[1]} -p ${p.name}`));
  const pipeline = await p.finishedPipeline('the web pipeline', (x) => x.id === Number(m[1]));
  assert.equal(pipeline.source, 'web');
  assert.equal(pipeline.ref, 'main');
  assert.equal(pipeline.tag, false);
  assert.equal(pipeline.status, 'success');
  assert.deepEqual(pipeline.jobs.map((j: any) => j.name).sort(), ['build', 'deploy']);
  // A pipeline variable beats the file's own variables.
  assert.match(await p.jobLog(pipeline, 'build'), /build source=web ref=main greeting=from-the-run/);
  assert.match(await p.jobLog(pipeline, 'deploy'), /deploying to production with 3 replicas/);
});

test('the API runs a tag as an api pipeline; the defaults apply without inputs; variables in GitLab\'s shape', async () => {
  const res = await p.api('POST', '/pipelines', { ref: 'v1.0.0', variables: [{ key: 'GREETING', value: 'api' }] });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.source, 'api');
  assert.equal(res.body.tag, true);
  assert.ok(Array.isArray(res.body.jobs) && res.body.jobs.length === 2, res.text);
  const pipeline = await p.finishedPipeline('the api pipeline', (x) => x.id === res.body.id);
  assert.equal(pipeline.status, 'success');
  assert.match(await p.jobLog(pipeline, 'build'), /build source=api ref=v1.0.0 greeting=api/);
  assert.match(await p.jobLog(pipeline, 'deploy'), /deploying to staging with 1 replicas/);
});

test('bad runs are refused with what to fix, and create no pipeline', async () => {
  const before = ((await p.api('GET', '/pipelines')).body as any[]).length;
  const missingRef = await p.api('POST', '/pipelines', { ref: 'no-such-branch' });
  assert.equal(missingRef.status, 400, missingRef.text);
  assert.match(missingRef.body.message, /has no branch or tag named no-such-branch/);
  const badSource = await p.api('POST', '/pipelines', { source: 'push' });
  assert.equal(badSource.status, 422, badSource.text);
  assert.match(badSource.body.message, /source must be api or web/);
  const badVariable = await p.api('POST', '/pipelines', { variables: [{ key: 'NOT A KEY', value: 'x' }] });
  assert.equal(badVariable.status, 422, badVariable.text);
  assert.match(badVariable.body.message, /letters, digits and underscores/);
  const badInputs = await p.api('POST', '/pipelines', { inputs: ['production'] });
  assert.equal(badInputs.status, 422, badInputs.text);

  // Inputs the file refuses: as GitLab's API and "Run pipeline" form, nothing is recorded; the error says why.
  const wrongOption = await cli('ci:pipelines:create', '-p', p.name, '--input', 'environment=moon');
  assert.notEqual(wrongOption.code, 0, wrongOption.stdout);
  assert.match(wrongOption.stderr, /\.gitlab-ci\.yml:1: `environment` input: `moon` cannot be used because it is not in the list of allowed options/);
  const notANumber = await cli('ci:pipelines:create', '-p', p.name, '--input', 'replicas=many');
  assert.notEqual(notANumber.code, 0, notANumber.stdout);
  assert.match(notANumber.stderr, /`replicas` input: provided value is not a number/);
  const unknown = await p.api('POST', '/pipelines', { inputs: { region: 'eu' } });
  assert.equal(unknown.status, 400, unknown.text);
  assert.match(unknown.body.message, /unknown input arguments: region/);
  const badPair = await cli('ci:pipelines:create', '-p', p.name, '--variable', 'NOEQUALS');
  assert.notEqual(badPair.code, 0);
  assert.match(badPair.stderr, /--variable needs KEY=VALUE/);
  assert.equal(((await p.api('GET', '/pipelines')).body as any[]).length, before);
});

test('rules that create no pipeline for the run are an error with the reason', async () => {
  const q = await ProjectRepo.create(s, 'run-by-hand-workflow');
  await q.commit({ '.gitlab-ci.yml': ['workflow:', '  rules:', '    - if: $CI_PIPELINE_SOURCE == "push"', 'job:', '  script: echo hi', ''].join('\n') });
  await q.push('main');
  await q.finishedPipeline('the push pipeline', (x) => x.source === 'push');
  const res = await q.api('POST', '/pipelines', {});
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.id, 'pipeline_not_created');
  assert.match(res.body.message, /No pipeline for main/);
  assert.equal(((await q.api('GET', '/pipelines')).body as any[]).length, 1);
});
