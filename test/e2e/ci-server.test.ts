// Server-mode CI: `git push` to a project's /<name>.git runs its .gitlab-ci.yml on Slipway.
// A real server, real git pushes over HTTP, real bash jobs; pipelines and jobs read through
// the API and the CLI; a kill -9 while a job runs leaves it failed (runner_system_failure).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, git, type ExecResult } from '../helpers/exec.js';
import { gitUrl } from '../helpers/flow.js';

const PROJECT = 'ci-shop';
let s: Slipway;
let repo: string;

before(async () => {
  s = await startSlipway();
  const created = await s.api('POST', '/projects', { name: PROJECT });
  assert.equal(created.status, 201, created.text);
  repo = mkdtempSync(join(tmpdir(), 'slipway-ci-project-'));
  await git(repo, 'init', '-q', '-b', 'main');
});

after(async () => {
  await s?.destroy();
});

/** Writes the files, commits them on the current branch, and returns the new commit's sha. */
async function commit(files: Record<string, string>, message = 'change'): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  await git(repo, 'add', '-A');
  const result = await git(repo, 'commit', '-q', '-m', message);
  assert.equal(result.code, 0, result.stderr);
  return (await git(repo, 'rev-parse', 'HEAD')).stdout.trim();
}

async function push(...refs: string[]): Promise<ExecResult> {
  const result = await git(repo, 'push', gitUrl(s, PROJECT), ...refs);
  assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  return result;
}

/** The pipeline number the push printed (`remote: Pipeline #N: <url>`). */
function pipelineOf(result: ExecResult): number {
  const m = /remote: Pipeline #(\d+)(?: failed)?:? (\S+)?/.exec(result.stderr);
  assert.ok(m, `no "Pipeline #N" line in:\n${result.stderr}`);
  return Number(m[1]);
}

async function finished(number: number): Promise<any> {
  return waitFor(`pipeline #${number} to finish`, async () => {
    const res = await s.api('GET', `/projects/${PROJECT}/pipelines/${number}`);
    return res.status === 200 && !['created', 'running'].includes(res.body.status) ? res.body : undefined;
  }, 120_000, 200);
}

const jobNamed = (pipeline: any, name: string) => pipeline.jobs.find((j: any) => j.name === name);

test('a push runs the pipeline of the pushed commit; jobs by stage with status; logs', async () => {
  const sha = await commit({
    '.gitlab-ci.yml': [
      'stages: [build, test, deploy]',
      'build:',
      '  stage: build',
      '  script: [echo built > out.txt, cat out.txt]',
      'unit:',
      '  stage: test',
      '  script: ["echo ref=$CI_COMMIT_REF_NAME source=$CI_PIPELINE_SOURCE sha=$CI_COMMIT_SHA", "cat app.txt", "test ! -e out.txt"]',
      'lint:',
      '  stage: test',
      '  script: echo "lint job $CI_JOB_ID in $CI_PROJECT_PATH"',
      'ship:',
      '  stage: deploy',
      '  script: echo shipped',
      '',
    ].join('\n'),
    'app.txt': 'hello from the commit\n',
  });
  const pushed = await push('main');
  const number = pipelineOf(pushed);
  assert.match(pushed.stderr, new RegExp(`remote: Pipeline #${number}: http://\\S+/projects/${PROJECT}/pipelines/${number}`));

  const pipeline = await finished(number);
  assert.equal(pipeline.status, 'success', JSON.stringify(pipeline, null, 2));
  assert.equal(pipeline.sha, sha);
  assert.equal(pipeline.ref, 'main');
  assert.equal(pipeline.source, 'push');
  assert.deepEqual(pipeline.stages, ['build', 'test', 'deploy']);
  assert.deepEqual(
    pipeline.jobs.map((j: any) => [j.stage, j.name, j.status]),
    [['build', 'build', 'success'], ['test', 'unit', 'success'], ['test', 'lint', 'success'], ['deploy', 'ship', 'success']],
  );

  const unit = jobNamed(pipeline, 'unit');
  const log = await fetch(`${s.url}/projects/${PROJECT}/jobs/${unit.id}/log`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type') ?? '', /text\/plain/);
  const text = await log.text();
  assert.match(text, new RegExp(`ref=main source=push sha=${sha}`));
  assert.match(text, /hello from the commit/);
  assert.match(text, /Job succeeded/);
  const lint = (await s.api('GET', `/projects/${PROJECT}/jobs/${jobNamed(pipeline, 'lint').id}`)).body;
  assert.equal(lint.status, 'success');

  const list = (await s.api('GET', `/projects/${PROJECT}/pipelines`)).body;
  assert.ok(list.some((p: any) => p.id === number && p.status === 'success'));
  const projects = (await s.api('GET', '/projects')).body;
  assert.ok(projects.some((p: any) => p.name === PROJECT));

  // A tag push runs a tag pipeline.
  await git(repo, 'tag', 'v1.0');
  const tagged = await push('v1.0');
  const tagPipeline = await finished(pipelineOf(tagged));
  assert.equal(tagPipeline.tag, true);
  assert.equal(tagPipeline.ref, 'v1.0');
  assert.equal(tagPipeline.status, 'success');
});

test('a failing job fails the pipeline and skips later stages', async () => {
  await git(repo, 'checkout', '-q', '-b', 'failing');
  await commit({
    '.gitlab-ci.yml': ['test:', '  stage: test', '  script: [echo about to fail, exit 3]', 'deploy:', '  stage: deploy', '  script: echo never', ''].join('\n'),
  });
  const pipeline = await finished(pipelineOf(await push('failing')));
  assert.equal(pipeline.status, 'failed');
  const failed = jobNamed(pipeline, 'test');
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failure_reason, 'script_failure');
  assert.equal(failed.exit_code, 3);
  assert.equal(jobNamed(pipeline, 'deploy').status, 'skipped');
});

test('an invalid .gitlab-ci.yml: the push is accepted, the pipeline is failed with file:line', async () => {
  await git(repo, 'checkout', '-q', '-b', 'broken');
  const sha = await commit({ '.gitlab-ci.yml': ['build:', '  stage: build', '  scirpt: echo typo', ''].join('\n') });
  const pushed = await push('broken');
  assert.match(pushed.stderr, /remote: Pipeline #\d+ failed: \.gitlab-ci\.yml is invalid/);
  assert.match(pushed.stderr, /remote:\s+\.gitlab-ci\.yml:\d+: .*scirpt/);
  const remote = await git(repo, 'ls-remote', gitUrl(s, PROJECT), 'refs/heads/broken');
  assert.match(remote.stdout, new RegExp(sha));
  const pipeline = (await s.api('GET', `/projects/${PROJECT}/pipelines/${pipelineOf(pushed)}`)).body;
  assert.equal(pipeline.status, 'failed');
  assert.equal(pipeline.failure_reason, 'config_error');
  assert.match(pipeline.errors[0], /^\.gitlab-ci\.yml:\d+: /);
  assert.deepEqual(pipeline.jobs, []);
});

test('the job log streams while the job runs; the CLI shows pipelines, jobs and logs', async () => {
  await git(repo, 'checkout', '-q', '-b', 'streaming');
  await commit({ '.gitlab-ci.yml': ['stream:', '  script: [echo first line, sleep 2, echo second line]', ''].join('\n') });
  const number = pipelineOf(await push('streaming'));
  const job = await waitFor('the job to start', async () => {
    const p = (await s.api('GET', `/projects/${PROJECT}/pipelines/${number}`)).body;
    const j = p && jobNamed(p, 'stream');
    return j && j.status !== 'created' && j.status !== 'pending' ? j : undefined;
  }, 60_000, 50);
  const res = await fetch(`${s.url}/projects/${PROJECT}/jobs/${job.id}/log`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  const text = await res.text();
  assert.match(text, /first line[\s\S]*second line[\s\S]*Job succeeded/);
  const after = (await s.api('GET', `/projects/${PROJECT}/jobs/${job.id}`)).body;
  assert.equal(after.status, 'success');

  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  const cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  const projects = await cli('projects');
  assert.equal(projects.code, 0, projects.stderr);
  assert.match(projects.stdout, new RegExp(PROJECT));
  const pipelines = await cli('ci:pipelines', '-p', PROJECT);
  assert.equal(pipelines.code, 0, pipelines.stderr);
  assert.match(pipelines.stdout, new RegExp(`#${number}\\s+success\\s+streaming`));
  const shown = await cli('ci:pipeline', String(number), '-p', PROJECT);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /test/);
  assert.match(shown.stdout, new RegExp(`#${job.id}\\s+stream\\s+success`));
  const log = await cli('ci:job:log', String(job.id), '-p', PROJECT, '--follow');
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, /first line[\s\S]*second line/);
  const created = await cli('projects:create', 'ci-cli-made');
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await s.api('GET', '/projects/ci-cli-made')).status, 200);
});

test('project and app names share the git URL space', async () => {
  assert.equal((await s.api('POST', '/apps', { name: 'ci-taken-app' })).status, 201);
  const project = await s.api('POST', '/projects', { name: 'ci-taken-app' });
  assert.equal(project.status, 422);
  assert.equal(project.body.id, 'invalid_params');
  assert.match(project.body.message, /already taken by an app/);
  const app = await s.api('POST', '/apps', { name: PROJECT });
  assert.equal(app.status, 422);
  assert.equal(app.body.id, 'invalid_params');
  assert.match(app.body.message, /already taken by a CI project/);
  assert.equal((await s.api('POST', '/projects', { name: PROJECT })).status, 422);
  assert.equal((await s.api('GET', '/projects/ci-nothing-here')).status, 404);
});

test('a job running when Slipway is killed is failed with runner_system_failure after a restart', async () => {
  await git(repo, 'checkout', '-q', '-b', 'slow');
  await commit({ '.gitlab-ci.yml': ['slow:', '  script: [echo started, sleep 30]', 'later:', '  stage: deploy', '  script: echo later', ''].join('\n') });
  const number = pipelineOf(await push('slow'));
  const job = await waitFor('the slow job to run', async () => {
    const p = (await s.api('GET', `/projects/${PROJECT}/pipelines/${number}`)).body;
    const j = p && jobNamed(p, 'slow');
    return j?.status === 'running' ? j : undefined;
  }, 60_000, 50);
  await waitFor('the slow job to print', async () => {
    const log = await fetch(`${s.url}/projects/${PROJECT}/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
    return /started/.test(await log.text());
  }, 30_000, 50);
  await s.kill();
  await s.restart();
  const pipeline = await finished(number);
  assert.equal(pipeline.status, 'failed');
  const slow = jobNamed(pipeline, 'slow');
  assert.equal(slow.id, job.id);
  assert.equal(slow.status, 'failed');
  assert.equal(slow.failure_reason, 'runner_system_failure');
  assert.equal(jobNamed(pipeline, 'later').status, 'skipped');
  const log = await fetch(`${s.url}/projects/${PROJECT}/jobs/${job.id}/log`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  assert.match(await log.text(), /started[\s\S]*system failure/);
  // Earlier pipelines survived the restart.
  assert.ok((await s.api('GET', `/projects/${PROJECT}/pipelines`)).body.some((p: any) => p.status === 'success'));
});
