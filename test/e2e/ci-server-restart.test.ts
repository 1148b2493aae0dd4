// Server-mode CI across restarts: a job whose `retry:` covers runner_system_failure is retried
// after Slipway was killed under it, and the pipeline carries on; pipelines, jobs, logs,
// artifacts (downloadable, and handed to a job retried after the restart) and caches survive a
// restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let repo: ProjectRepo;

before(async () => {
  s = await startSlipway();
  repo = await ProjectRepo.create(s, 'ci-restart');
});

after(async () => {
  await s?.destroy();
});

async function pushPipeline(branch: string, yaml: string[]): Promise<number> {
  await repo.checkout(branch);
  await repo.commit({ '.gitlab-ci.yml': yaml.join('\n') + '\n' });
  const result = await repo.git('push', repo.url, branch);
  assert.equal(result.code, 0, result.stderr);
  const m = /remote: Pipeline #(\d+):/.exec(result.stderr);
  assert.ok(m, result.stderr);
  return Number(m[1]);
}

const pipeline = async (number: number, query = ''): Promise<any> => (await repo.api('GET', `/pipelines/${number}${query}`)).body;
const named = (p: any, name: string) => p.jobs.find((j: any) => j.name === name);

function settled(number: number): Promise<any> {
  return waitFor(`pipeline #${number} to finish`, async () => {
    const p = await pipeline(number);
    return ['success', 'failed', 'canceled', 'blocked'].includes(p.status) ? p : undefined;
  }, 120_000, 100);
}

async function logOf(id: number): Promise<string> {
  const res = await fetch(`${s.url}/projects/ci-restart/jobs/${id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  return res.text();
}

test('a job killed with Slipway is retried after the restart when retry covers runner_system_failure', async () => {
  // The project's first job is #1: only that attempt hangs.
  const number = await pushPipeline('main', [
    'flaky:',
    '  retry: {max: 1, when: runner_system_failure}',
    '  script:',
    '    - if [ "$CI_JOB_ID" = "1" ]; then echo first attempt; sleep 300; fi',
    '    - echo "attempt with job id $CI_JOB_ID"',
    'next: {stage: deploy, script: echo next ran}',
  ]);
  await waitFor('job #1 to print', async () => /first attempt/.test(await logOf(1)), 60_000, 50);
  await s.kill();
  await s.restart();
  const p = await settled(number);
  assert.equal(p.status, 'success', JSON.stringify(p.jobs));
  const retried = await pipeline(number, '?include_retried=true');
  const attempts = retried.jobs.filter((j: any) => j.name === 'flaky');
  assert.equal(attempts.length, 2);
  assert.deepEqual([attempts[0].id, attempts[0].status, attempts[0].failure_reason, attempts[0].retried], [1, 'failed', 'runner_system_failure', true]);
  assert.equal(attempts[1].status, 'success');
  assert.match(await logOf(1), /first attempt[\s\S]*system failure[\s\S]*it will be retried/);
  assert.match(await logOf(attempts[1].id), new RegExp(`attempt with job id ${attempts[1].id}`));
  assert.equal(named(p, 'next').status, 'success');
});

test('pipelines, logs, artifacts and caches survive a restart; a job retried afterwards gets its artifacts', async () => {
  const number = await pushPipeline('artifacts', [
    'build:',
    '  stage: build',
    '  cache: {key: restart-deps, paths: [deps/]}',
    '  script:',
    '    - if [ -d deps ]; then echo "deps from cache"; else mkdir deps && echo fetched > deps/lib.txt; fi',
    '    - mkdir -p out && echo "built by $CI_JOB_ID" > out/app.txt',
    '  artifacts: {paths: [out/]}',
    'use:',
    '  stage: test',
    '  script: [cat out/app.txt]',
  ]);
  const before = await settled(number);
  assert.equal(before.status, 'success');
  const build = named(before, 'build');
  const use = named(before, 'use');
  assert.equal(build.artifacts.files, 1);
  assert.match(await logOf(use.id), new RegExp(`built by ${build.id}`));

  await s.stop();
  await s.restart();

  const after = await pipeline(number);
  assert.equal(after.status, 'success');
  assert.match(await logOf(build.id), /Uploaded 1 artifact file/);

  // The artifacts, as a tarball, through the API and the CLI.
  const res = await fetch(`${s.url}/projects/ci-restart/jobs/${build.id}/artifacts`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-artifacts-'));
  writeFileSync(join(dir, 'api.tar.gz'), Buffer.from(await res.arrayBuffer()));
  const listed = await exec('tar', ['-tzf', join(dir, 'api.tar.gz')]);
  assert.match(listed.stdout, /out\/app\.txt/);
  const env = { HOME: dir, SLIPWAY_CONFIG_DIR: join(dir, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  const downloaded = await exec(process.execPath, [CLI, 'ci:artifacts', String(build.id), '-p', 'ci-restart', '-o', join(dir, 'cli.tar.gz')], { cwd: dir, env });
  assert.equal(downloaded.code, 0, downloaded.stderr);
  const extracted = await exec('tar', ['-xzOf', join(dir, 'cli.tar.gz'), 'out/app.txt']);
  assert.equal(extracted.stdout.trim(), `built by ${build.id}`);
  const none = await repo.api('GET', `/jobs/${use.id}/artifacts`);
  assert.equal(none.status, 404);
  assert.equal(none.body.id, 'not_found');

  // A job retried after the restart receives the stored artifacts; the cache is still there.
  const retriedUse = (await repo.api('POST', `/jobs/${use.id}/retry`)).body;
  assert.equal((await settled(number)).status, 'success');
  assert.match(await logOf(retriedUse.id), new RegExp(`built by ${build.id}`));
  const retriedBuild = (await repo.api('POST', `/jobs/${build.id}/retry`)).body;
  assert.equal((await settled(number)).status, 'success');
  assert.match(await logOf(retriedBuild.id), /Restored cache restart-deps[\s\S]*deps from cache/);
});
