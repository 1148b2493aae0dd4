// Issue 5's acceptance test: the whole Heroku Flow on one Slipway server, through the `slipway`
// CLI and the heroku CLI's pipelines commands, with real git pushes to a hosted project whose
// content is examples/node-app plus an app.json, a unit test and a .gitlab-ci.yml written here.
//
//  1. Pipeline `shop` couples shop-staging (staging) and shop-prod (production), is connected to
//     the hosted project `shop`, follows main → staging after CI, and production needs approval
//     by a user other than the one who asks (a second account, collaborator on shop-prod).
//  2. A feature branch push + `mr:create` make a review app from app.json environments.review; a
//     further push updates it; the MR and `reviewapps:list` show its URL; `mr:merge` destroys it.
//  3. The merge runs main's CI pipeline; once green, auto-deploy builds the commit once and
//     releases it on staging. A commit that breaks the unit test is deployed nowhere.
//  4. Integration tests against the staging URL, in a CI job that runs after the staging deploy.
//     Auto-deploy "after CI passes" waits for the *whole* push pipeline, so no job of that
//     pipeline can run after its deploy, and Slipway has no other way to start a pipeline once a
//     deploy is done (no trigger API, no deploy-triggered pipelines). A real user who wants
//     post-deploy tests therefore does it the GitLab way: the team turns staging's auto-deploy
//     off and moves the deploy into the pipeline — `test` → `deploy` (`slipway deploy -a
//     shop-staging` with the job's CI_JOB_TOKEN, environment `staging`) → `integration` (curls
//     the staging URL, which jobs learn from the project CI variable STAGING_URL, until staging
//     serves the job's own $CI_COMMIT_SHA, then tests it). The commit is still built once.
//  5. `pipelines:promote -a shop-staging` waits for approval; the requester cannot approve; the
//     second user does; production gets staging's slug (same id, no build) with its own config
//     vars, runs its release phase (Procfile `release:`) and serves the commit; the promotion
//     record names who asked and who approved.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, EXAMPLES, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, git, type ExecResult } from '../helpers/exec.js';
import { gitUrl, viaRouter } from '../helpers/flow.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';

const ADMIN = 'admin@slipway.local';
const REVIEWER = 'reviewer@example.com';
const STAGING = 'shop-staging';
const PROD = 'shop-prod';
const BRANCH = 'checkout-page';
const LONG = 300_000;

type Cli = (...args: string[]) => Promise<ExecResult>;

let s: Slipway;
let heroku: HerokuCli;
let admin: Cli;
let reviewer: Cli;
let work: string; // the developer's clone of the project
let stagingUrl: string;

// Shared between the steps.
let reviewAppId: string;
let reviewAppName: string;
let mergedSha: string;
let redSha: string;
let releasedSha: string;

// ---- the project's content ---------------------------------------------------------------------

const APP_JSON = JSON.stringify(
  {
    name: 'shop',
    env: { WHO: { description: 'who is serving', value: 'app.json default' } },
    formation: { web: { quantity: 1 }, worker: { quantity: 0 } },
    environments: { review: { env: { WHO: 'review' } } },
  },
  null,
  2,
);

const UNIT_TEST = [
  "const assert = require('node:assert/strict');",
  "const { greet } = require('../vendor/greeting');",
  "assert.equal(greet('shop'), 'Hello from shop');",
  "console.log('unit tests passed');",
  '',
].join('\n');

const GREETING_OK = "'use strict';\nexports.greet = (name) => `Hello from ${name}`;\n";
const GREETING_BROKEN = "'use strict';\nexports.greet = (name) => `Hi from ${name}`;\n";

// One pipeline per push: merge request pipelines for MRs, branch pipelines for main only.
const CI_HEAD = [
  'workflow:',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
  '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
  '',
];
const UNIT_JOB = [
  'unit:',
  '  stage: test',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
  '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
  '  script:',
  '    - node test/unit.js',
  '',
];

/** Step 1–3: CI runs the unit test; staging is deployed by auto-deploy after CI passes. */
const CI_V1 = [...CI_HEAD, 'stages: [test]', '', ...UNIT_JOB].join('\n');

/** Step 4: the pipeline deploys staging itself and then tests it. */
const CI_V2 = [
  ...CI_HEAD,
  'stages: [test, deploy, integration]',
  '',
  ...UNIT_JOB,
  'deploy-staging:',
  '  stage: deploy',
  '  environment: { name: staging, url: $STAGING_URL }',
  '  rules: [{ if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH }]',
  `  script: [slipway deploy -a ${STAGING}]`,
  '',
  'integration:',
  '  stage: integration',
  '  rules: [{ if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH }]',
  '  script:',
  '    - echo "integration tests against $STAGING_URL"',
  '    # The release is done when deploy-staging ends; wait (bounded) for the router to switch to it.',
  '    - for i in $(seq 1 240); do served=$(curl -fs "$STAGING_URL/config/HEROKU_SLUG_COMMIT" || true); [ "$served" = "$CI_COMMIT_SHA" ] && break; sleep 1; done',
  '    - echo "staging serves $served"',
  '    - test "$served" = "$CI_COMMIT_SHA"',
  '    - curl -fsS "$STAGING_URL/" | grep "Hello from node-app"',
  '    - test "$(curl -fsS "$STAGING_URL/health")" = ok',
  '    - test "$(curl -fsS "$STAGING_URL/config/WHO")" = staging',
  '    - test "$(curl -fsS "$STAGING_URL/build-info" | wc -c)" -gt 0',
  '    - echo "integration tests passed on staging at $CI_COMMIT_SHORT_SHA"',
  '',
].join('\n');

// ---- helpers -----------------------------------------------------------------------------------

/** The slipway CLI logged in (`slipway login`) with `key`, in a home of its own. */
async function slipwayAs(key: string): Promise<Cli> {
  const home = mkdtempSync(join(tmpdir(), 'slipway-acceptance-cli-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: undefined, SLIPWAY_API_KEY: undefined, SLIPWAY_APP: undefined, SLIPWAY_PROJECT: undefined, NO_COLOR: '1' };
  const run: Cli = (...args) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  const login = await run('login', '--url', s.url, `--api-key=${key}`);
  assert.equal(login.code, 0, login.stderr);
  return run;
}

async function ok(cli: Cli, ...args: string[]): Promise<ExecResult> {
  const result = await cli(...args);
  assert.equal(result.code, 0, `slipway ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function herokuOk(...args: string[]): Promise<ExecResult> {
  const result = await heroku.run(args);
  assert.equal(result.code, 0, `heroku ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function commit(files: Record<string, string>, message: string): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  assert.equal((await git(work, 'add', '-A')).code, 0);
  const committed = await git(work, 'commit', '-q', '-m', message);
  assert.equal(committed.code, 0, committed.stderr);
  return (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
}

async function push(ref: string): Promise<void> {
  const pushed = await git(work, 'push', '-q', gitUrl(s, 'shop'), ref);
  assert.equal(pushed.code, 0, `git push ${ref} failed:\n${pushed.stderr}`);
}

const api = async (method: string, path: string, body?: unknown) => {
  const res = await s.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
};

/** The project's CI pipeline matching `match`, once it has finished, with its jobs. */
async function finishedCi(what: string, match: (p: any) => boolean): Promise<any> {
  return waitFor(what, async () => {
    const found = ((await api('GET', '/projects/shop/pipelines')) as any[]).find(match);
    if (!found || !['success', 'failed', 'canceled', 'skipped'].includes(found.status)) return undefined;
    return api('GET', `/projects/shop/pipelines/${found.id}`);
  }, LONG, 250);
}

async function jobLogs(pipeline: any): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  for (const job of pipeline.jobs) {
    const res = await fetch(`${s.url}/projects/shop/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
    logs[job.name] = await res.text();
  }
  return logs;
}

async function finishedAutoDeploy(sha: string): Promise<any> {
  return waitFor(`the auto-deploy of ${sha.slice(0, 7)} to staging`, async () => {
    const found = ((await api('GET', '/pipelines/shop/auto-deploys')) as any[]).find((d) => d.sha === sha && d.stage === 'staging');
    return found && ['succeeded', 'failed', 'skipped'].includes(found.status) ? found : undefined;
  }, LONG, 250);
}

const builds = async (app: string) => (await api('GET', `/apps/${app}/builds`)) as any[];
const releases = async (app: string) => (await api('GET', `/apps/${app}/releases`)) as any[];
const current = async (app: string) => (await releases(app)).filter((r) => r.current).pop();

/** Waits until `app` answers `path` through the router with exactly `body`. */
const serves = (app: string, path: string, body: string) =>
  waitFor(`${app}${path} to answer "${body}" through the router`, async () => {
    const res = await viaRouter(s, app, path);
    return res.status === 200 && res.body === body ? res : undefined;
  }, LONG, 250);

// ---- setup ----------------------------------------------------------------------------------------

before(async () => {
  s = await startSlipway();
  stagingUrl = `http://${STAGING}.localhost:${s.port}`;
  heroku = await herokuCli(s);
  admin = await slipwayAs(s.apiKey);
});

after(async () => {
  await s?.destroy();
});

// ---- 1 ---------------------------------------------------------------------------------------------

test('1. pipeline shop: staging and production apps, connected to the project shop, production needs a second pair of eyes', async () => {
  // The second user: an account made by the admin, who logs in with its own key.
  const account = JSON.parse((await ok(admin, 'accounts:create', REVIEWER, '--json')).stdout);
  assert.equal(account.account.email, REVIEWER);
  reviewer = await slipwayAs(account.api_key);
  assert.equal((await ok(reviewer, 'auth:whoami')).stdout.trim(), REVIEWER);

  // The hosted project, with the example app on main.
  const project = await ok(admin, 'projects:create', 'shop');
  assert.match(project.stdout + project.stderr, /shop/);
  work = mkdtempSync(join(tmpdir(), 'slipway-acceptance-shop-'));
  cpSync(join(EXAMPLES, 'node-app'), work, { recursive: true });
  assert.equal((await git(work, 'init', '-q', '-b', 'main')).code, 0);
  await commit({ 'app.json': APP_JSON, 'test/unit.js': UNIT_TEST, '.gitlab-ci.yml': CI_V1 }, 'The shop, from the node-app example');
  await push('main');

  // The apps, each with its own config, and the pipeline.
  for (const app of [STAGING, PROD]) await ok(admin, 'apps:create', app, '--no-remote');
  await ok(admin, 'config:set', 'WHO=staging', '-a', STAGING);
  await ok(admin, 'config:set', 'WHO=production', '-a', PROD);
  await ok(admin, 'pipelines:create', 'shop', '-a', STAGING, '--stage', 'staging');
  await ok(admin, 'pipelines:add', 'shop', '-a', PROD, '--stage', 'production');
  const connected = await ok(admin, 'pipelines:connect', 'shop', '--project', 'shop');
  assert.match(connected.stdout, /Connected shop to the project shop/);
  const rule = await ok(admin, 'pipelines:autodeploy', 'shop', '--branch', 'main', '--stage', 'staging');
  assert.match(rule.stdout, /deploys main to staging after CI passes/);
  const reviewApps = await ok(admin, 'reviewapps:enable', 'shop', '--autodeploy');
  assert.match(reviewApps.stdout, /review apps/i);

  // Four eyes on production: the reviewer collaborates on it (heroku access:add) and approves.
  const policy = await ok(admin, 'pipelines:require-approval', 'shop', '--stage', 'production', '--different-user');
  assert.match(policy.stdout, /production stage of shop now need approval by a user other than the requester/);
  await herokuOk('access:add', REVIEWER, '-a', PROD);

  // What the heroku CLI sees of it.
  assert.match((await herokuOk('pipelines')).stdout, /^shop\b/m);
  const info = await herokuOk('pipelines:info', 'shop');
  assert.match(info.stdout, new RegExp(`${STAGING}\\s+staging`));
  assert.match(info.stdout, new RegExp(`${PROD}\\s+production`));
  assert.match(info.stdout, /owner: admin@slipway\.local/);
  const mine = await ok(admin, 'pipelines:info', 'shop');
  assert.match(mine.stdout, /production requires approval by a user other than the requester/);
  assert.match(mine.stdout, new RegExp(`${STAGING}\\s+staging\\s.*no code deployed`));
  assert.equal((await api('GET', '/pipelines/shop/connection')).project.name, 'shop');
});

// ---- 2 ---------------------------------------------------------------------------------------------

test('2. a feature branch and its merge request get a review app that follows pushes; merging destroys it', async () => {
  assert.equal((await git(work, 'checkout', '-q', '-b', BRANCH)).code, 0);
  const first = await commit({ 'public/checkout.txt': 'checkout, first cut\n' }, 'Add the checkout page');
  await push(BRANCH);
  const opened = await ok(admin, 'mr:create', '--source', BRANCH, '--target', 'main', '--title', 'Checkout page', '-p', 'shop');
  assert.match(opened.stdout, new RegExp(`Opened !1 ${BRANCH} → main: Checkout page`));
  assert.match(opened.stdout, /Pipeline #\d+: http/);

  // The review app: created from app.json with environments.review, coupled at the review stage.
  const pipelineId = (await api('GET', '/pipelines/shop')).id;
  const created = await waitFor(`the review app of ${BRANCH}`, async () => {
    const found = ((await api('GET', `/pipelines/${pipelineId}/review-apps`)) as any[]).find((r) => r.branch === BRANCH);
    if (found?.status === 'errored') throw new Error(`the review app errored: ${found.message}`);
    return found?.status === 'created' && found.pr_number === 1 ? found : undefined;
  }, LONG, 250);
  reviewAppId = created.id;
  reviewAppName = created.app.name;
  assert.equal((await api('GET', `/apps/${reviewAppName}/pipeline-couplings`)).stage, 'review');
  await serves(reviewAppName, '/config/WHO', 'review');
  await serves(reviewAppName, '/config/HEROKU_SLUG_COMMIT', first);

  // A further push updates it.
  const second = await commit({ 'public/checkout.txt': 'checkout, second cut\n' }, 'Polish the checkout page');
  await push(BRANCH);
  await serves(reviewAppName, '/config/HEROKU_SLUG_COMMIT', second);
  await waitFor('the review app to record the new commit', async () => (await api('GET', `/review-apps/${reviewAppId}`)).message === `Deployed ${second.slice(0, 7)}`, LONG, 250);

  // Its URL is on the merge request and in reviewapps:list.
  const url = new RegExp(`^http://${reviewAppName}\\.localhost:${s.port}/?$`);
  const mr = JSON.parse((await ok(admin, 'mr:show', '1', '--json', '-p', 'shop')).stdout);
  assert.equal(mr.review_app.name, reviewAppName);
  assert.match(mr.review_app.url, url);
  assert.equal(mr.sha, second);
  const shown = await ok(admin, 'mr:show', '1', '-p', 'shop');
  assert.ok(shown.stdout.includes(mr.review_app.url), shown.stdout);
  const listed = await ok(admin, 'reviewapps:list', 'shop');
  assert.match(listed.stdout, new RegExp(`${reviewAppName}\\s+${BRANCH}\\s+!1\\s+created\\s+http://${reviewAppName}\\.localhost:${s.port}/`));
  const listedJson = JSON.parse((await ok(admin, 'reviewapps:list', 'shop', '--json')).stdout);
  assert.match(listedJson.find((r: any) => r.id === reviewAppId).web_url, url);
  // The pipeline holds it at the review stage, for slipway and the heroku CLI.
  assert.match((await ok(admin, 'pipelines:info', 'shop')).stdout, new RegExp(`${reviewAppName}\\s+review\\s`));
  assert.match((await herokuOk('pipelines:info', 'shop')).stdout, new RegExp(`${reviewAppName}\\s+review`));

  // The merge request pipeline (unit tests) is green at the head: merge.
  const mrPipeline = await finishedCi('the merge request pipeline of the head', (p) => p.source === 'merge_request_event' && p.sha === second);
  assert.equal(mrPipeline.status, 'success', JSON.stringify(await jobLogs(mrPipeline), null, 2));
  const merged = await ok(admin, 'mr:merge', '1', '-p', 'shop');
  assert.match(merged.stdout, /Fast-forwarded main to [0-9a-f]{8}\./);
  assert.match(merged.stdout, /Merged !1/);
  mergedSha = second;

  // Merging destroyed the review app.
  const gone = await waitFor('the review app to be destroyed', async () => {
    const body = (await s.api('GET', `/review-apps/${reviewAppId}`)).body;
    return body?.status === 'deleted' ? body : undefined;
  }, LONG, 250);
  assert.match(gone.message, /Merge request !1 was merged/);
  assert.equal((await s.api('GET', `/apps/${reviewAppName}`)).status, 404);
  assert.equal(JSON.parse((await ok(admin, 'mr:show', '1', '--json', '-p', 'shop')).stdout).state, 'merged');
});

// ---- 3 ---------------------------------------------------------------------------------------------

test('3. main’s green CI pipeline releases the commit on staging, built once; a red one deploys nothing', async () => {
  assert.equal((await git(work, 'checkout', '-q', 'main')).code, 0);
  assert.equal((await git(work, 'merge', '-q', '--ff-only', BRANCH)).code, 0);

  const ci = await finishedCi('main’s pipeline of the merge', (p) => p.source === 'push' && p.ref === 'main' && p.sha === mergedSha);
  assert.equal(ci.status, 'success', JSON.stringify(await jobLogs(ci), null, 2));
  assert.deepEqual(ci.jobs.map((j: any) => j.name), ['unit']);
  assert.match((await jobLogs(ci)).unit, /unit tests passed/);

  const deploy = await finishedAutoDeploy(mergedSha);
  assert.equal(deploy.status, 'succeeded', deploy.message);
  assert.match(deploy.message, new RegExp(`CI pipeline #${ci.id} passed; deployed ${mergedSha.slice(0, 7)} to ${STAGING} v\\d+ \\(built\\)\\.`));

  // Built once, from the merged commit; the staging release runs that build's slug.
  const built = await builds(STAGING);
  assert.equal(built.length, 1);
  assert.equal(built[0].status, 'succeeded');
  assert.equal(built[0].source_blob.version, mergedSha);
  const release = await current(STAGING);
  assert.equal(release.slug.id, built[0].slug.id);
  assert.equal((await api('GET', `/apps/${STAGING}/slugs/${release.slug.id}`)).commit, mergedSha);
  assert.equal((await builds(PROD)).length, 0, 'production is not part of this rule');
  await serves(STAGING, '/config/HEROKU_SLUG_COMMIT', mergedSha);
  await serves(STAGING, '/config/WHO', 'staging');
  const info = await ok(admin, 'pipelines:info', 'shop');
  assert.match(info.stdout, new RegExp(`${STAGING}\\s+staging\\s+v${release.version}\\s+${mergedSha.slice(0, 7)}\\s+succeeded`));

  // A commit that breaks the unit test: CI fails, nothing is built or released.
  redSha = await commit({ 'vendor/greeting/index.js': GREETING_BROKEN }, 'Reword the greeting');
  await push('main');
  const red = await finishedCi('main’s pipeline of the red commit', (p) => p.source === 'push' && p.ref === 'main' && p.sha === redSha);
  assert.equal(red.status, 'failed');
  assert.match((await jobLogs(red)).unit, /AssertionError/);
  const refused = await finishedAutoDeploy(redSha);
  assert.equal(refused.status, 'failed');
  assert.equal(refused.message, `CI pipeline #${red.id} failed: ${redSha.slice(0, 7)} was not deployed to staging.`);
  assert.equal((await builds(STAGING)).length, 1);
  assert.equal((await current(STAGING)).id, release.id);
  assert.equal((await viaRouter(s, STAGING, '/config/HEROKU_SLUG_COMMIT')).body, mergedSha);

  const deploys = await ok(admin, 'pipelines:deploys', 'shop');
  assert.match(deploys.stdout, new RegExp(`${redSha.slice(0, 7)}\\s+main → staging\\s+failed`));
  assert.match(deploys.stdout, new RegExp(`${mergedSha.slice(0, 7)}\\s+main → staging\\s+succeeded`));
});

// ---- 4 ---------------------------------------------------------------------------------------------

test('4. a CI job after the staging deploy runs integration tests against the staging URL', async () => {
  // Staging is deployed by the pipeline from now on (see the top of this file for why).
  await ok(admin, 'pipelines:autodeploy', 'shop', '--stage', 'staging', '--off');
  const variable = await ok(admin, 'ci:vars:set', '-p', 'shop', `STAGING_URL=${stagingUrl}`);
  assert.match(variable.stdout, /Set STAGING_URL on shop/);

  releasedSha = await commit({ 'vendor/greeting/index.js': GREETING_OK, '.gitlab-ci.yml': CI_V2 }, 'Fix the greeting; deploy staging and test it from CI');
  await push('main');
  const ci = await finishedCi('main’s pipeline with the integration tests', (p) => p.source === 'push' && p.ref === 'main' && p.sha === releasedSha);
  const logs = await jobLogs(ci);
  assert.equal(ci.status, 'success', JSON.stringify(logs, null, 2));
  assert.deepEqual(ci.jobs.map((j: any) => [j.name, j.stage, j.status]), [
    ['unit', 'test', 'success'],
    ['deploy-staging', 'deploy', 'success'],
    ['integration', 'integration', 'success'],
  ]);
  assert.ok(logs['deploy-staging'].includes(`Starting build of ${STAGING} (${releasedSha.slice(0, 7)})... done`), logs['deploy-staging']);
  assert.match(logs['deploy-staging'], new RegExp(`Released v\\d+ of ${STAGING}`));
  assert.ok(logs.integration.includes(`integration tests against ${stagingUrl}`), logs.integration);
  assert.ok(logs.integration.includes(`staging serves ${releasedSha}`), logs.integration);
  assert.ok(logs.integration.includes(`integration tests passed on staging at ${releasedSha.slice(0, 8)}`), logs.integration);

  // The job's deploy built the commit once and released it on staging.
  const built = await builds(STAGING);
  assert.equal(built.length, 2);
  const newest = built.find((b) => b.source_blob.version === releasedSha);
  assert.ok(newest, JSON.stringify(built));
  assert.equal((await current(STAGING)).slug.id, newest.slug.id);
  assert.equal((await viaRouter(s, STAGING, '/config/HEROKU_SLUG_COMMIT')).body, releasedSha);
  const deployments = JSON.parse((await ok(admin, 'ci:deployments', '-p', 'shop', '--env', 'staging', '--json')).stdout);
  assert.equal(deployments[0].status, 'success');
  assert.equal(deployments[0].sha, releasedSha);
  assert.equal(deployments[0].deployable.name, 'deploy-staging');
});

// ---- 5 ---------------------------------------------------------------------------------------------

test('5. promoting staging waits for another user’s approval, then production runs staging’s slug with its own config', async () => {
  const staging = await current(STAGING);
  const prodBefore = await releases(PROD);
  const stagingBuilds = (await builds(STAGING)).length;

  const promote = await ok(admin, 'pipelines:promote', '-a', STAGING);
  assert.match(promote.stdout, /is waiting for approval by a user other than the one who asked for it/);
  const id = /Promotion ([0-9a-f-]{36}) /.exec(promote.stdout)?.[1];
  assert.ok(id, promote.stdout);
  const waiting = await api('GET', `/pipeline-promotions/${id}/record`);
  assert.equal(waiting.status, 'pending');
  assert.equal(waiting.approval.status, 'awaiting');
  assert.deepEqual(waiting.targets.map((t: any) => [t.app.name, t.status]), [[PROD, 'awaiting_approval']]);
  assert.deepEqual((await releases(PROD)).map((r) => r.id), prodBefore.map((r) => r.id), 'nothing is released before the approval');
  const info = await ok(admin, 'pipelines:info', 'shop');
  assert.match(info.stdout, new RegExp(`${PROD}\\s+production\\s.*1 promotion awaiting approval`));

  // The requester may not approve it; the reviewer does.
  const own = await admin('pipelines:approve', id!);
  assert.equal(own.code, 1, own.stdout + own.stderr);
  assert.match(own.stderr, /must be approved by someone other than the user who asked for it/);
  assert.equal((await api('GET', `/pipeline-promotions/${id}/record`)).approval.status, 'awaiting');
  const approved = await ok(reviewer, 'pipelines:approve', id!);
  assert.match(approved.stderr, new RegExp(`Approved promotion ${id} \\(asked for by admin@slipway\\.local\\)`));
  assert.match(approved.stdout, new RegExp(`${PROD}\\s+succeeded`));

  // The record: who asked, who approved, what was released.
  const record = await api('GET', `/pipeline-promotions/${id}/record`);
  assert.equal(record.status, 'completed');
  assert.equal(record.requested_by.email, ADMIN);
  assert.equal(record.approval.status, 'approved');
  assert.equal(record.approval.decided_by.email, REVIEWER);
  assert.equal(record.targets[0].status, 'succeeded');
  const promotions = await ok(admin, 'pipelines:promotions', 'shop');
  assert.match(promotions.stdout, new RegExp(`${id}\\s+${STAGING} v${staging.version} → ${PROD}\\s+succeeded\\s+by ${ADMIN}, approved by ${REVIEWER}`));

  // Same slug, no build anywhere; production's own config vars; its release phase ran.
  const prod = await current(PROD);
  assert.equal(prod.id, record.targets[0].release.id);
  assert.equal(prod.slug.id, staging.slug.id);
  assert.equal((await builds(PROD)).length, 0);
  assert.equal((await builds(STAGING)).length, stagingBuilds);
  assert.equal((await api('GET', `/apps/${PROD}/releases/${prod.version}/config-vars`)).WHO, 'production');
  const output = await ok(admin, 'releases:output', `v${prod.version}`, '-a', PROD);
  assert.match(output.stdout, new RegExp(`release phase ran for v${prod.version}`));
  await serves(PROD, '/config/HEROKU_SLUG_COMMIT', releasedSha);
  await serves(PROD, '/config/WHO', 'production');
  assert.equal((await viaRouter(s, STAGING, '/config/WHO')).body, 'staging');

  // Both stages now run the same commit.
  const diff = await ok(admin, 'pipelines:diff', '-a', STAGING);
  assert.match(diff.stdout, /up to date/);
  const herokuInfo = await herokuOk('pipelines:info', 'shop');
  assert.match(herokuInfo.stdout, new RegExp(`${PROD}\\s+production`));
});
