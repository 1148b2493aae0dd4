// A CI project's settings on a real server with real pushes and real jobs: CI/CD variables
// (masked, protected, environment-scoped, raw, file), protected branches and tags (the default
// branch protected from the start), environments and deployments, through the API and the CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, git, type ExecResult } from '../helpers/exec.js';
import { gitUrl } from '../helpers/flow.js';

const PROJECT = 'cis-shop';
const SECRET = 's3cr3t-Value_1234';
const FILE_SECRET = 'filesecret-ABCD1234';
let s: Slipway;
let repo: string;
let home: string;

before(async () => {
  s = await startSlipway();
  assert.equal((await s.api('POST', '/projects', { name: PROJECT })).status, 201);
  repo = mkdtempSync(join(tmpdir(), 'slipway-cis-'));
  home = mkdtempSync(join(tmpdir(), 'slipway-cis-home-'));
  await git(repo, 'init', '-q', '-b', 'main');
});

after(async () => {
  await s?.destroy();
});

const cli = (...args: string[]) =>
  exec(process.execPath, [CLI, ...args], { cwd: home, env: { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' } });

async function commit(files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  await git(repo, 'add', '-A');
  assert.equal((await git(repo, 'commit', '-q', '-m', 'change')).code, 0);
}

async function pushed(...refs: string[]): Promise<number> {
  const result: ExecResult = await git(repo, 'push', '-f', gitUrl(s, PROJECT), ...refs);
  assert.equal(result.code, 0, result.stderr);
  const m = /remote: Pipeline #(\d+)/.exec(result.stderr);
  assert.ok(m, result.stderr);
  return Number(m[1]);
}

async function finished(number: number): Promise<any> {
  return waitFor(`pipeline #${number}`, async () => {
    const res = await s.api('GET', `/projects/${PROJECT}/pipelines/${number}`);
    return res.status === 200 && !['created', 'running'].includes(res.body.status) ? res.body : undefined;
  }, 120_000, 200);
}

async function logOf(pipeline: any, name: string): Promise<string> {
  const job = pipeline.jobs.find((j: any) => j.name === name);
  assert.ok(job, `no job ${name}`);
  const res = await fetch(`${s.url}/projects/${PROJECT}/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  return res.text();
}

const PIPELINE = [
  'show:',
  '  script:',
  '    - echo "protected=$CI_COMMIT_REF_PROTECTED prot=${PROT_ONLY:-none} target=$DEPLOY_TARGET raw=$RAW_VAR"',
  '    - echo "secret=$SECRET_TOKEN"',
  '    - echo "file=$(cat "$CONFIG_FILE") at ${CONFIG_FILE}"',
  '    - echo "token=${CI_JOB_TOKEN:+set} api=$SLIPWAY_API_URL"',
  '    - echo "token value=$CI_JOB_TOKEN"',
  'production:',
  '  stage: deploy',
  '  environment: { name: production, url: "https://prod.example.com/$CI_COMMIT_SHORT_SHA" }',
  '  script: [\'echo "env=$CI_ENVIRONMENT_NAME slug=$CI_ENVIRONMENT_SLUG tier=$CI_ENVIRONMENT_TIER action=$CI_ENVIRONMENT_ACTION url=$CI_ENVIRONMENT_URL target=$DEPLOY_TARGET"\']',
  'review:',
  '  stage: deploy',
  '  environment: { name: "review/$CI_COMMIT_REF_SLUG", on_stop: stop_review, auto_stop_in: 1 week }',
  '  script: [\'echo "env=$CI_ENVIRONMENT_NAME slug=$CI_ENVIRONMENT_SLUG tier=$CI_ENVIRONMENT_TIER target=$DEPLOY_TARGET"\']',
  'stop_review:',
  '  stage: deploy',
  '  environment: { name: "review/$CI_COMMIT_REF_SLUG", action: stop }',
  '  when: manual',
  '  script: echo stopping',
  '',
].join('\n');

test('variables: masking rules, hidden masked values, scopes; the CLI sets, lists and unsets', async () => {
  const short = await s.api('POST', `/projects/${PROJECT}/variables`, { key: 'SHORT', value: 'abc', masked: true });
  assert.equal(short.status, 422, short.text);
  assert.equal(short.body.id, 'invalid_params');
  assert.match(short.body.message, /at least 8 characters/);
  const spaced = await s.api('POST', `/projects/${PROJECT}/variables`, { key: 'SPACED', value: 'has a space|pipe', masked: true });
  assert.equal(spaced.status, 422);
  assert.match(spaced.body.message, /cannot be masked because it contains the following characters: whitespace characters, \|/);
  assert.doesNotMatch(spaced.body.message, /has a space/);
  const badKey = await s.api('POST', `/projects/${PROJECT}/variables`, { key: 'NOT-OK', value: 'x' });
  assert.equal(badKey.status, 422);
  assert.equal((await s.api('POST', `/projects/${PROJECT}/variables`, { key: 'OK', value: 'x', environment_scope: 'bad scope!' })).status, 422);

  for (const args of [
    [`SECRET_TOKEN=${SECRET}`, '--masked'],
    ['PROT_ONLY=protected-value', '--protected'],
    ['DEPLOY_TARGET=everywhere'],
    ['DEPLOY_TARGET=prod-target', '--env', 'production'],
    ['DEPLOY_TARGET=review-target', '--env', 'review/*'],
    ['RAW_VAR=$HOME-literal', '--raw'],
    [`CONFIG_FILE=${FILE_SECRET}`, '--file', '--masked'],
    ['UNWANTED=soon-gone'],
  ]) {
    const set = await cli('ci:vars:set', '-p', PROJECT, ...args);
    assert.equal(set.code, 0, set.stderr);
    assert.doesNotMatch(set.stdout + set.stderr, new RegExp(SECRET));
  }
  // Setting again replaces (same key and scope).
  const again = await cli('ci:vars:set', '-p', PROJECT, 'UNWANTED=still-here');
  assert.equal(again.code, 0, again.stderr);
  const masked = await cli('ci:vars:set', '-p', PROJECT, 'TOO_SHORT=abc', '--masked');
  assert.equal(masked.code, 1);
  assert.match(masked.stderr, /TOO_SHORT cannot be masked: The value must have at least 8 characters/);

  const listed = await cli('ci:vars', '-p', PROJECT);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /SECRET_TOKEN\s+\[masked\]\s+\*/);
  assert.match(listed.stdout, /DEPLOY_TARGET\s+review-target\s+review\/\*/);
  assert.doesNotMatch(listed.stdout, new RegExp(`${SECRET}|${FILE_SECRET}`));
  const api = (await s.api('GET', `/projects/${PROJECT}/variables`)).body;
  const secret = api.find((v: any) => v.key === 'SECRET_TOKEN');
  assert.deepEqual(secret, { key: 'SECRET_TOKEN', value: null, variable_type: 'env_var', protected: false, masked: true, raw: false, environment_scope: '*', description: null });
  assert.equal(api.filter((v: any) => v.key === 'DEPLOY_TARGET').length, 3);
  const ambiguous = await s.api('GET', `/projects/${PROJECT}/variables/DEPLOY_TARGET`);
  assert.equal(ambiguous.status, 409);
  assert.equal((await s.api('GET', `/projects/${PROJECT}/variables/DEPLOY_TARGET?filter[environment_scope]=production`)).body.value, 'prod-target');
  assert.equal((await s.api('GET', `/projects/${PROJECT}/variables/UNWANTED`)).body.value, 'still-here');

  const unset = await cli('ci:vars:unset', '-p', PROJECT, 'UNWANTED');
  assert.equal(unset.code, 0, unset.stderr);
  assert.equal((await s.api('GET', `/projects/${PROJECT}/variables/UNWANTED`)).status, 404);
});

test('protected refs: the default branch from the start; wildcards; ref protection gates protected variables', async () => {
  const protectedList = await cli('ci:protected', '-p', PROJECT);
  assert.equal(protectedList.code, 0, protectedList.stderr);
  assert.match(protectedList.stdout, /branch\s+main/);

  await commit({ '.gitlab-ci.yml': PIPELINE });
  const main = await finished(await pushed('main'));
  assert.equal(main.status, 'success', JSON.stringify(main.jobs));
  const show = await logOf(main, 'show');
  assert.match(show, /protected=true prot=protected-value target=everywhere raw=\$HOME-literal/);
  assert.match(show, /secret=\[MASKED\]/);
  assert.match(show, /file=\[MASKED\] at \/\S+\.tmp\/CONFIG_FILE/);
  assert.match(show, /token=set api=http:\/\/127\.0\.0\.1:\d+/);
  assert.match(show, /token value=\[MASKED\]/);
  assert.doesNotMatch(show, new RegExp(`${SECRET}|${FILE_SECRET}|slpjt-`));
  const production = await logOf(main, 'production');
  assert.match(production, new RegExp(`env=production slug=production tier=production action=start url=https://prod.example.com/${main.sha.slice(0, 8)} target=prod-target`));
  const review = await logOf(main, 'review');
  assert.match(review, /env=review\/main slug=review-main-[a-z0-9]{6} tier=development target=review-target/);

  // A branch that is not protected: no protected variables.
  await git(repo, 'checkout', '-q', '-b', 'feature');
  const feature = await finished(await pushed('feature'));
  assert.match(await logOf(feature, 'show'), /protected=false prot=none target=everywhere/);

  // Tags by wildcard; unprotecting main sticks.
  assert.equal((await cli('ci:protect', '-p', PROJECT, '--tag', 'v*')).code, 0);
  const dup = await cli('ci:protect', '-p', PROJECT, '--tag', 'v*');
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already protected/);
  await git(repo, 'tag', 'v1.2');
  const tagged = await finished(await pushed('v1.2'));
  assert.match(await logOf(tagged, 'show'), /protected=true prot=protected-value/);
  const unprotected = await cli('ci:unprotect', '-p', PROJECT, '--branch', 'main');
  assert.equal(unprotected.code, 0, unprotected.stderr);
  assert.doesNotMatch((await cli('ci:protected', '-p', PROJECT)).stdout, /branch\s+main/);
  await git(repo, 'checkout', '-q', 'main');
  await commit({ 'note.txt': 'again\n' });
  const mainAgain = await finished(await pushed('main'));
  assert.match(await logOf(mainAgain, 'show'), /protected=false prot=none/);
  assert.equal((await cli('ci:protect', '-p', PROJECT, '--branch', 'main')).code, 0);
  assert.equal((await cli('ci:unprotect', '-p', PROJECT, '--branch', 'nope')).code, 1);

  // Nothing secret reached Slipway's own output.
  assert.doesNotMatch(s.output(), new RegExp(`${SECRET}|${FILE_SECRET}|slpjt-`));
});

test('environments and deployments follow their jobs', async () => {
  const envs = (await s.api('GET', `/projects/${PROJECT}/environments`)).body;
  assert.deepEqual(envs.map((e: any) => e.name), ['production', 'review/feature', 'review/main', 'review/v1-2']);
  const production = envs.find((e: any) => e.name === 'production');
  assert.equal(production.state, 'available');
  assert.equal(production.tier, 'production');
  assert.match(production.external_url, /^https:\/\/prod\.example\.com\/[0-9a-f]{8}$/);
  assert.equal(production.last_deployment.status, 'success');
  const reviewMain = envs.find((e: any) => e.name === 'review/main');
  assert.equal(reviewMain.on_stop, 'stop_review');
  assert.equal(reviewMain.auto_stop_in, '1 week');
  assert.ok(Date.parse(reviewMain.auto_stop_at) > Date.now() + 6 * 86400_000);
  assert.equal(reviewMain.tier, 'development');

  const deployments = (await s.api('GET', `/projects/${PROJECT}/deployments?environment=review/main`)).body;
  const stop = deployments.find((d: any) => d.action === 'stop');
  assert.equal(stop.status, 'created'); // its job is manual and was not played
  assert.equal(stop.deployable.name, 'stop_review');
  const start = deployments.find((d: any) => d.action === 'start');
  assert.equal(start.status, 'success');
  assert.equal(start.ref, 'main');
  assert.equal((await s.api('GET', `/projects/${PROJECT}/deployments/${start.id}`)).body.uuid, start.uuid);

  const cliEnvs = await cli('ci:environments', '-p', PROJECT);
  assert.equal(cliEnvs.code, 0, cliEnvs.stderr);
  assert.match(cliEnvs.stdout, /production\s+available\s+production\s+https:\/\/prod\.example\.com/);
  const cliDeployments = await cli('ci:deployments', '-p', PROJECT, '--env', 'production');
  assert.equal(cliDeployments.code, 0, cliDeployments.stderr);
  assert.match(cliDeployments.stdout, /#\d+\s+production\s+start\s+success\s+main/);
  assert.doesNotMatch(cliDeployments.stdout, /review\//);
  const missing = await cli('ci:deployments', '-p', PROJECT, '--env', 'nowhere');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no environment nowhere/);
});
