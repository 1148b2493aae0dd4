// Job control in server-mode CI: play (blocking and optional manual jobs, delayed jobs now),
// retry (a new job; the old one stays, retried), pipeline retry, cancel (pipeline and job, the
// running process killed) and auto-cancel of redundant pipelines (interruptible). Real pushes,
// real jobs; the CLI and the API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, type ExecResult } from '../helpers/exec.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let repo: ProjectRepo;
let cli: (...args: string[]) => Promise<ExecResult>;

before(async () => {
  s = await startSlipway();
  repo = await ProjectRepo.create(s, 'ci-control');
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  cli = (...args) => exec(process.execPath, [CLI, ...args, '-p', 'ci-control'], { cwd: home, env });
});

after(async () => {
  await s?.destroy();
});

/** Commits the pipeline file on `branch` and pushes; returns the pipeline number and the push output. */
async function pushPipeline(branch: string, yaml: string[], extra: Record<string, string> = {}): Promise<{ number: number; output: string }> {
  await repo.checkout(branch);
  await repo.commit({ '.gitlab-ci.yml': yaml.join('\n') + '\n', ...extra });
  const result = await repo.git('push', repo.url, branch);
  assert.equal(result.code, 0, result.stderr);
  const m = /remote: Pipeline #(\d+):/.exec(result.stderr);
  assert.ok(m, `no pipeline in:\n${result.stderr}`);
  return { number: Number(m[1]), output: result.stderr };
}

const pipeline = async (number: number, query = ''): Promise<any> => (await repo.api('GET', `/pipelines/${number}${query}`)).body;
const job = async (id: number): Promise<any> => (await repo.api('GET', `/jobs/${id}`)).body;
const named = (p: any, name: string) => p.jobs.find((j: any) => j.name === name);

/** Waits until the pipeline has one of `statuses` (default: any status it rests in). */
function settled(number: number, statuses = ['success', 'failed', 'canceled', 'blocked']): Promise<any> {
  return waitFor(`pipeline #${number} to be ${statuses.join('/')}`, async () => {
    const p = await pipeline(number);
    return statuses.includes(p.status) ? p : undefined;
  }, 120_000, 100);
}

function jobIn(number: number, name: string, status: string): Promise<any> {
  return waitFor(`${name} of #${number} to be ${status}`, async () => {
    const j = named(await pipeline(number), name);
    return j?.status === status ? j : undefined;
  }, 60_000, 50);
}

async function logOf(id: number): Promise<string> {
  const res = await fetch(`${s.url}/projects/ci-control/jobs/${id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  return res.text();
}

test('a blocking manual job holds later stages until ci:play; then the pipeline carries on', async () => {
  const { number } = await pushPipeline('blocking', [
    'stages: [build, deploy, verify]',
    'build: {stage: build, script: echo built}',
    'deploy:',
    '  stage: deploy',
    '  script: echo "deploying manual=$CI_JOB_MANUAL"',
    '  rules: [{when: manual}]',
    'verify: {stage: verify, script: echo verified}',
  ]);
  let p = await settled(number);
  assert.equal(p.status, 'blocked');
  assert.deepEqual(p.jobs.map((j: any) => [j.name, j.status]), [['build', 'success'], ['deploy', 'manual'], ['verify', 'created']]);
  const deploy = named(p, 'deploy');

  const played = await cli('ci:play', String(deploy.id));
  assert.equal(played.code, 0, played.stderr);
  assert.match(played.stdout, new RegExp(`Playing job #${deploy.id} \\(deploy\\)`));
  p = await settled(number, ['success', 'failed']);
  assert.equal(p.status, 'success');
  assert.deepEqual(p.jobs.map((j: any) => [j.name, j.status]), [['build', 'success'], ['deploy', 'success'], ['verify', 'success']]);
  assert.equal(named(p, 'deploy').id, deploy.id, 'playing a manual job runs that job');
  assert.match(await logOf(deploy.id), /deploying manual=true/);

  const again = await cli('ci:play', String(named(p, 'verify').id));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is success: only manual jobs and delayed jobs that wait can be played/);
});

test('an optional manual job played after success runs the pipeline again; a delayed job plays now', async () => {
  const { number } = await pushPipeline('optional', [
    'test: {script: echo ok}',
    'extra: {stage: deploy, when: manual, script: echo extra ran}',
    'later: {stage: deploy, when: delayed, start_in: 1 hour, script: echo later ran}',
  ]);
  const scheduled = await jobIn(number, 'later', 'scheduled');
  assert.ok(Date.parse(scheduled.scheduled_at) > Date.now() + 30 * 60_000, scheduled.scheduled_at);
  assert.equal((await pipeline(number)).status, 'running');
  const playedNow = await repo.api('POST', `/jobs/${scheduled.id}/play`);
  assert.equal(playedNow.status, 200, playedNow.text);
  let p = await settled(number);
  assert.equal(p.status, 'success');
  assert.equal(named(p, 'later').status, 'success');
  assert.equal(named(p, 'extra').status, 'manual');

  const extra = named(p, 'extra');
  assert.equal((await repo.api('POST', `/jobs/${extra.id}/play`)).status, 200);
  p = await settled(number);
  assert.equal(p.status, 'success');
  assert.equal(named(p, 'extra').status, 'success');
  assert.match(await logOf(extra.id), /extra ran/);
});

const flaky = (key: string) => [
  `  cache: {key: ${key}, paths: [marker], when: always}`,
  '  script:',
  '    - if [ -f marker ]; then echo second try; else touch marker; echo first try; exit 1; fi',
];

test('ci:retry makes a new job; the old one stays, marked retried; skipped jobs run again', async () => {
  const { number } = await pushPipeline('retry', ['flaky:', ...flaky('retry-marker'), 'ship: {stage: deploy, script: echo shipped}']);
  let p = await settled(number);
  assert.equal(p.status, 'failed');
  const first = named(p, 'flaky');
  assert.equal(first.status, 'failed');
  assert.equal(named(p, 'ship').status, 'skipped');

  const retried = await cli('ci:retry', String(first.id));
  assert.equal(retried.code, 0, retried.stderr);
  const m = new RegExp(`Retrying job #${first.id} as #(\\d+) \\(flaky\\)`).exec(retried.stdout);
  assert.ok(m, retried.stdout);
  const second = Number(m[1]);
  assert.notEqual(second, first.id);
  p = await settled(number, ['success', 'failed']);
  assert.equal(p.status, 'success');
  assert.deepEqual(p.jobs.map((j: any) => [j.name, j.id, j.status]), [['flaky', second, 'success'], ['ship', named(p, 'ship').id, 'success']]);
  const old = await job(first.id);
  assert.equal(old.status, 'failed');
  assert.equal(old.retried, true);
  const all = await pipeline(number, '?include_retried=true');
  assert.deepEqual(all.jobs.filter((j: any) => j.name === 'flaky').map((j: any) => [j.id, j.retried]), [[first.id, true], [second, false]]);
  const shown = await cli('ci:pipeline', String(number), '--retried');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`#${first.id}\\s+flaky\\s+failed \\(retried\\)`));
  const log = await logOf(second);
  assert.match(log, /Restored cache retry-marker[\s\S]*second try/);
  assert.match(await logOf(first.id), /first try/);

  const twice = await repo.api('POST', `/jobs/${first.id}/retry`);
  assert.equal(twice.status, 409);
  assert.equal(twice.body.id, 'conflict');
  assert.match(twice.body.message, new RegExp(`newest attempt is #${second}`));
});

test('ci:retry --pipeline retries the failed jobs', async () => {
  const { number } = await pushPipeline('retry-pipeline', ['one:', ...flaky('pipeline-marker'), 'fine: {script: echo fine}']);
  assert.equal((await settled(number)).status, 'failed');
  const retried = await cli('ci:retry', '--pipeline', String(number));
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, new RegExp(`Retrying pipeline #${number}`));
  const p = await settled(number, ['success', 'failed']);
  assert.equal(p.status, 'success');
  assert.equal(named(p, 'one').status, 'success');
  assert.equal((await repo.api('POST', `/pipelines/${number}/retry`)).status, 409);
});

test('ci:cancel kills the running job, cancels waiting ones and the pipeline; --job cancels one job', async () => {
  const slow = ['slow: {script: [echo started, sleep 300 & sleep 300]}', 'after: {stage: deploy, script: echo never}'];
  const { number } = await pushPipeline('cancel', slow);
  const running = await jobIn(number, 'slow', 'running');
  await waitFor('the slow job to print', async () => /started/.test(await logOf(running.id)), 30_000, 50);
  const canceled = await cli('ci:cancel', String(number));
  assert.equal(canceled.code, 0, canceled.stderr);
  let p = await settled(number, ['canceled']);
  assert.deepEqual(p.jobs.map((j: any) => [j.name, j.status]), [['slow', 'canceled'], ['after', 'canceled']]);
  assert.match(await logOf(running.id), /started[\s\S]*Job canceled/);

  const second = (await pushPipeline('cancel', slow, { 'again.txt': 'again\n' })).number;
  const slowJob = await jobIn(second, 'slow', 'running');
  const one = await cli('ci:cancel', '--job', String(slowJob.id));
  assert.equal(one.code, 0, one.stderr);
  p = await settled(second, ['canceled']);
  assert.deepEqual(p.jobs.map((j: any) => [j.name, j.status]), [['slow', 'canceled'], ['after', 'skipped']]);
  const finished = await repo.api('POST', `/jobs/${slowJob.id}/cancel`);
  assert.equal(finished.status, 409);
  assert.match(finished.body.message, /is canceled: only created, pending, scheduled and running jobs can be canceled/);
});

test('a newer pipeline on the same ref auto-cancels an interruptible one, not one whose non-interruptible job started', async () => {
  const first = await pushPipeline('busy', ['wait: {interruptible: true, script: [echo waiting, sleep 300]}']);
  await jobIn(first.number, 'wait', 'running');
  const second = await pushPipeline('busy', ['quick: {script: echo quick}']);
  assert.match(second.output, new RegExp(`Auto-canceled redundant pipeline #${first.number}`));
  const canceled = await settled(first.number, ['canceled']);
  assert.equal(canceled.auto_canceled_by, second.number);
  assert.equal(named(canceled, 'wait').status, 'canceled');
  assert.equal((await settled(second.number)).status, 'success');

  const guarded = await pushPipeline('busy', ['guard: {script: [echo guarding, sleep 300]}']);
  await jobIn(guarded.number, 'guard', 'running');
  const newer = await pushPipeline('busy', ['quick: {script: echo quick again}']);
  assert.doesNotMatch(newer.output, /Auto-canceled/);
  assert.equal((await settled(newer.number)).status, 'success');
  const still = await pipeline(guarded.number);
  assert.equal(still.status, 'running');
  assert.equal(still.auto_canceled_by, null);
  assert.equal((await repo.api('POST', `/pipelines/${guarded.number}/cancel`)).status, 200);
  assert.equal((await settled(guarded.number, ['canceled'])).status, 'canceled');
});
