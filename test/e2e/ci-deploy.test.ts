// Deploying from a CI job: a project's deploy job runs `slipway deploy -a APP` with only what
// the job gets (CI_JOB_TOKEN, SLIPWAY_API_URL, `slipway` on its PATH); the app then serves the
// pushed commit. The job token is scoped (only deploy endpoints, only apps coupled to a pipeline
// connected to the project) and stops working when its job ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { git } from '../helpers/exec.js';
import { createApp, gitUrl, viaRouter } from '../helpers/flow.js';

const PROJECT = 'cid-shop';
const APP = 'cid-web';
const OTHER = 'cid-other';
let s: Slipway;

before(async () => {
  s = await startSlipway();
  await createApp(s, APP);
  await createApp(s, OTHER);
  assert.equal((await s.api('POST', '/projects', { name: PROJECT })).status, 201);
  const pipeline = await s.api('POST', '/pipelines', { name: 'cid-flow' });
  assert.equal(pipeline.status, 201, pipeline.text);
  assert.equal((await s.api('POST', '/pipeline-couplings', { app: APP, pipeline: pipeline.body.id, stage: 'production' })).status, 201);
  await connect(pipeline.body.id, PROJECT);
});

after(async () => {
  await s?.destroy();
});

/** Connects a pipeline to a CI project (what `pipelines:connect` records), straight in the store. */
async function connect(pipelineId: string, projectName: string): Promise<void> {
  const project = (await s.api('GET', `/projects/${projectName}`)).body;
  const store = await openStore({ databaseUrl: s.env.DATABASE_URL, sqlitePath: join(s.dataDir, 'slipway.db') });
  try {
    await store.db.updateTable('pipelines').set({ project_id: project.id }).where('id', '=', pipelineId).execute();
  } finally {
    await store.close();
  }
}

const PIPELINE = [
  'stages: [check, deploy]',
  'scope:',
  '  stage: check',
  '  script:',
  '    - test -n "$CI_JOB_TOKEN" && echo "api=$SLIPWAY_API_URL"',
  '    - command -v slipway',
  '    - echo "reversed=$(echo "$CI_JOB_TOKEN" | rev)"',
  `    - slipway config -a ${APP} 2> config.err && exit 1 || cat config.err`,
  `    - slipway deploy -a ${OTHER} 2> other.err && exit 1 || cat other.err`,
  '    - host=${SLIPWAY_API_URL#http://}',
  `    - git ls-remote "http://gitlab-ci-token:$CI_JOB_TOKEN@$host/${APP}.git" && echo git-app=ok`,
  `    - git ls-remote "http://gitlab-ci-token:$CI_JOB_TOKEN@$host/${OTHER}.git" 2> /dev/null && exit 1 || echo git-other=refused`,
  `    - git ls-remote "http://gitlab-ci-token:$CI_JOB_TOKEN@$host/${PROJECT}.git" 2> /dev/null && exit 1 || echo git-project=refused`,
  'deploy:',
  '  stage: deploy',
  `  environment: { name: production, url: "http://${APP}.localhost" }`,
  `  script: [slipway deploy -a ${APP}]`,
  '',
].join('\n');

test('a deploy job runs `slipway deploy` with its job token and the app serves the pushed commit', async () => {
  const repo = mkdtempSync(join(tmpdir(), 'slipway-cid-'));
  await git(repo, 'init', '-q', '-b', 'main');
  const marker = `deployed-from-ci-${Date.now()}`;
  writeFileSync(join(repo, 'index.html'), `<!doctype html><title>ci</title><p>${marker}</p>\n`);
  writeFileSync(join(repo, '.gitlab-ci.yml'), PIPELINE);
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'site');
  const push = await git(repo, 'push', gitUrl(s, PROJECT), 'main');
  assert.equal(push.code, 0, push.stderr);
  const number = Number(/remote: Pipeline #(\d+)/.exec(push.stderr)?.[1]);
  const pipeline = await waitFor('the pipeline to finish', async () => {
    const res = await s.api('GET', `/projects/${PROJECT}/pipelines/${number}`);
    return res.status === 200 && !['created', 'running'].includes(res.body.status) ? res.body : undefined;
  }, 240_000, 250);
  const logs: Record<string, string> = {};
  for (const job of pipeline.jobs) {
    logs[job.name] = await (await fetch(`${s.url}/projects/${PROJECT}/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } })).text();
  }
  assert.equal(pipeline.status, 'success', JSON.stringify(logs, null, 2));

  // Scope: config vars need an API key; apps outside the connected pipelines are refused.
  assert.match(logs.scope, /api=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(logs.scope, /A CI job token may only deploy/);
  assert.match(logs.scope, new RegExp(`job token of project ${PROJECT} may only deploy to apps in a pipeline connected to ${PROJECT}; ${OTHER} is not`));
  assert.match(logs.scope, /^git-app=ok$/m);
  assert.match(logs.scope, /^git-other=refused$/m);
  assert.match(logs.scope, /^git-project=refused$/m);
  assert.doesNotMatch(logs.scope, /slpjt-/);

  // The deploy job built and released the commit; the router serves it.
  assert.match(logs.deploy, new RegExp(`Released v\\d+ of ${APP}`));
  await waitFor('the new release to serve', async () => (await viaRouter(s, APP)).body.includes(marker), 60_000, 250);
  const builds = (await s.api('GET', `/apps/${APP}/builds`)).body;
  assert.equal(builds.length, 1);
  assert.equal(builds[0].status, 'succeeded');
  assert.equal((await s.api('GET', `/apps/${OTHER}/builds`)).body.length, 0);

  // The deployment follows the job.
  const deployments = (await s.api('GET', `/projects/${PROJECT}/deployments?environment=production`)).body;
  assert.equal(deployments.length, 1);
  assert.equal(deployments[0].status, 'success');
  assert.equal(deployments[0].sha, pipeline.sha);
  assert.equal(deployments[0].deployable.name, 'deploy');

  // The token died with its job.
  const reversed = /^reversed=(\S+)$/m.exec(logs.scope)?.[1];
  assert.ok(reversed, logs.scope);
  const token = [...reversed].reverse().join('');
  assert.match(token, /^slpjt-/);
  const late = await fetch(`${s.url}/apps/${APP}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.heroku+json; version=3' } });
  assert.equal(late.status, 401);
  assert.match(((await late.json()) as { message: string }).message, /job is no longer running/);
  assert.doesNotMatch(s.output(), new RegExp(token));
});
