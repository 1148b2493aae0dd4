/**
 * pipelines:info (stages, apps, current release, commit, status), pipelines:diff (commits
 * between an app and the next stage's apps, from the git repositories Slipway holds, and a
 * clear word when they cannot be compared), and the bad inputs of promotion: each a clear error
 * with apps and releases unchanged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, EXAMPLES, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, gitUrl } from '../helpers/flow.js';
import { exec, git } from '../helpers/exec.js';

let s: Slipway;
let repo: string;
let cli: (args: string[]) => ReturnType<typeof exec>;
const PIPE = 'fi-shop';
const STAGING = 'fi-staging';
const PROD = 'fi-prod';
const PROD_EU = 'fi-prod-eu';

before(async () => {
  s = await startSlipway();
  const deployed = await deployExample(s, STAGING, 'node-app');
  assert.equal(deployed.push.code, 0, deployed.push.stderr);
  repo = deployed.repo;
  for (const name of [PROD, PROD_EU, 'fi-dev', 'fi-dev-two']) assert.equal((await s.api('POST', '/apps', { name })).status, 201);
  const home = mkdtempSync(join(tmpdir(), 'slipway-fi-cli-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: undefined, SLIPWAY_API_KEY: undefined, SLIPWAY_APP: undefined, NO_COLOR: '1' };
  cli = (args) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  assert.equal((await cli(['login', '--url', s.url, `--api-key=${s.apiKey}`])).code, 0);
});

after(async () => {
  await s?.destroy();
});

const releasesOf = async (app: string) => (await s.api('GET', `/apps/${app}/releases`)).body as any[];
const settled = (app: string) => waitFor(`${app} to settle`, async () => ((await releasesOf(app)).every((r) => r.status !== 'pending') ? true : undefined), 120_000, 250);
const head = async () => (await git(repo, 'rev-parse', 'HEAD')).stdout.trim();

test('pipelines:info shows each stage with its apps, release, commit and status', async () => {
  assert.equal((await cli(['pipelines:create', PIPE, '-a', STAGING, '-s', 'staging'])).code, 0);
  assert.equal((await cli(['pipelines:add', PIPE, '-a', PROD, '-s', 'production'])).code, 0);
  const list = await cli(['pipelines', '--json']);
  assert.deepEqual(JSON.parse(list.stdout).map((p: any) => p.name), [PIPE]);
  assert.match((await cli(['pipelines:list'])).stdout, /=== My Pipelines\nfi-shop/);

  const sha = await head();
  const info = await cli(['pipelines:info', PIPE]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^=== fi-shop\nowner: admin@slipway\.local$/m);
  assert.match(info.stdout, new RegExp(`^${STAGING}\\s+staging\\s+v\\d+\\s+${sha.slice(0, 7)}\\s+succeeded$`, 'm'));
  assert.match(info.stdout, new RegExp(`^${PROD}\\s+production\\s+v1\\s+no code deployed$`, 'm'));
  const json = JSON.parse((await cli(['pipelines:info', PIPE, '--json'])).stdout);
  const staging = json.stages.find((st: any) => st.name === 'staging');
  assert.equal(staging.apps[0].commit.sha, sha);
  assert.equal(staging.apps[0].status, 'succeeded');
  assert.equal(staging.approval.approval_required, false);

  const diff = await cli(['pipelines:diff', '-a', STAGING]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /Cannot compare fi-staging with fi-prod: fi-prod has no code deployed yet \(its v1 has no slug\)/);
});

test('pipelines:diff lists the commits staging has and production lacks', async () => {
  const promote = await cli(['pipelines:promote', '-a', STAGING]);
  assert.equal(promote.code, 0, promote.stdout + promote.stderr);
  assert.match((await cli(['pipelines:diff', '-a', STAGING])).stdout, /fi-staging is up to date with fi-prod\./);

  await git(repo, 'commit', '-q', '--allow-empty', '-m', 'Add the checkout page');
  await git(repo, 'commit', '-q', '--allow-empty', '-m', 'Fix the cart total');
  const push = await git(repo, 'push', gitUrl(s, STAGING), 'main');
  assert.equal(push.code, 0, push.stderr);
  const diff = await cli(['pipelines:diff', '-a', STAGING]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /=== Comparing fi-staging to fi-prod\nfi-staging is ahead of fi-prod by 2 commits\./);
  const sha = await head();
  assert.match(diff.stdout, new RegExp(`^${sha.slice(0, 7)}\\s+\\d{4}-\\d\\d-\\d\\d\\s+Test\\s+Fix the cart total$`, 'm'));
  assert.match(diff.stdout, /\s+Test\s+Add the checkout page$/m);
  const json = JSON.parse((await cli(['pipelines:diff', '-a', STAGING, '--json'])).stdout);
  assert.equal(json.comparisons[0].state, 'ahead');
  assert.deepEqual(json.comparisons[0].commits.map((c: any) => c.message), ['Fix the cart total', 'Add the checkout page']);
  assert.equal(json.comparisons[0].commits[0].sha, sha);

  const fromProd = await cli(['pipelines:diff', '-a', PROD]);
  assert.equal(fromProd.code, 1, fromProd.stdout + fromProd.stderr);
  assert.match(fromProd.stderr, /fi-prod is in the production stage of fi-shop: there is no downstream stage/);
});

test('pipelines:diff says when a release was built from a tarball, not a commit', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'slipway-fi-tgz-')), 'src.tgz');
  assert.equal((await exec('tar', ['-czf', out, '-C', join(EXAMPLES, 'static-site'), '.'])).code, 0);
  const source = (await s.api('POST', '/sources')).body.source_blob;
  assert.equal((await fetch(source.put_url, { method: 'PUT', body: new Uint8Array(readFileSync(out)), headers: { 'Content-Type': '' } })).status, 200);
  const build = await s.api('POST', `/apps/${PROD_EU}/builds`, { source_blob: { url: source.get_url, version: 'release-2024' } });
  assert.equal(build.status, 201, build.text);
  await waitFor('the tarball build', async () => (await s.api('GET', `/apps/${PROD_EU}/builds/${build.body.id}`)).body.status === 'succeeded', 120_000, 250);
  assert.equal((await cli(['pipelines:add', PIPE, '-a', PROD_EU, '-s', 'production'])).code, 0);

  const diff = await cli(['pipelines:diff', '-a', STAGING]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /fi-staging is ahead of fi-prod by 2 commits/);
  assert.match(diff.stdout, /Cannot compare fi-staging with fi-prod-eu: fi-prod-eu v\d+ was built from a source tarball \(version "release-2024"\), not from a git commit\./);
  const info = await cli(['pipelines:info', PIPE]);
  assert.match(info.stdout, new RegExp(`^${PROD_EU}\\s+production\\s+v\\d+\\s+release-2024\\s+succeeded$`, 'm'));
});

test('promotion bad input: clear errors, nothing changed', async () => {
  const before = Object.fromEntries(await Promise.all([STAGING, PROD, PROD_EU, 'fi-dev', 'fi-dev-two'].map(async (a) => [a, (await releasesOf(a)).map((r) => r.id)])));

  const last = await cli(['pipelines:promote', '-a', PROD]);
  assert.equal(last.code, 1, last.stdout + last.stderr);
  assert.match(last.stderr, /Cannot promote fi-prod from the production stage: there is no downstream stage/);

  // A lonely pipeline: development has an app, staging none; then an app without a release.
  assert.equal((await cli(['pipelines:create', 'fi-lonely', '-a', 'fi-dev', '-s', 'development'])).code, 0);
  const empty = await cli(['pipelines:promote', '-a', 'fi-dev']);
  assert.equal(empty.code, 1, empty.stdout + empty.stderr);
  assert.match(empty.stderr, /pipeline fi-lonely has no apps in the staging stage\. Add one first \(slipway pipelines:add fi-lonely -a APP --stage staging\)/);
  assert.equal((await cli(['pipelines:add', 'fi-lonely', '-a', 'fi-dev-two', '-s', 'staging'])).code, 0);
  const noRelease = await cli(['pipelines:promote', '-a', 'fi-dev', '--to', 'fi-dev-two']);
  assert.equal(noRelease.code, 1, noRelease.stdout + noRelease.stderr);
  assert.match(noRelease.stderr, /fi-dev has no slug to promote: deploy it first/);

  // Staging's newest release fails its release phase: promoting it is refused.
  assert.equal((await s.api('PATCH', `/apps/${STAGING}/config-vars`, { RELEASE_EXIT_CODE: '3' })).status, 200);
  await settled(STAGING);
  const failedVersion = (await releasesOf(STAGING)).pop().version;
  const failed = await cli(['pipelines:promote', '-a', STAGING]);
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.match(failed.stderr, new RegExp(`The latest release of fi-staging \\(v${failedVersion}\\) failed.*slipway rollback -a fi-staging`));
  const info = await cli(['pipelines:info', PIPE]);
  assert.match(info.stdout, new RegExp(`^${STAGING}\\s+staging\\s+v\\d+\\s+[0-9a-f]{7}\\s+v${failedVersion} failed$`, 'm'));

  // pipelines:create leaves nothing behind when the app cannot join.
  const taken = await cli(['pipelines:create', 'fi-other', '-a', PROD, '-s', 'staging']);
  assert.equal(taken.code, 1, taken.stdout + taken.stderr);
  assert.match(taken.stderr, /already in a pipeline[\s\S]*The pipeline fi-other was not created/);
  assert.deepEqual((await s.api('GET', '/pipelines?eq[name]=fi-other')).body, []);
  const badStage = await cli(['pipelines:add', PIPE, '-a', 'fi-dev', '--stage', 'qa']);
  assert.equal(badStage.code, 1, badStage.stdout + badStage.stderr);
  assert.match(badStage.stderr, /"qa" is not a stage; use one of review, development, staging, production/);

  const after = Object.fromEntries(await Promise.all(Object.keys(before).map(async (a) => [a, (await releasesOf(a)).map((r) => r.id)])));
  after[STAGING] = after[STAGING].slice(0, before[STAGING].length);
  assert.deepEqual(after, before, 'no release anywhere but the failed config change');

  assert.equal((await cli(['pipelines:remove', '-a', 'fi-dev'])).code, 0);
  const notIn = await cli(['pipelines:remove', '-a', 'fi-dev']);
  assert.equal(notIn.code, 1, notIn.stdout + notIn.stderr);
  assert.match(notIn.stderr, /fi-dev is not in a pipeline\. Add it with: slipway pipelines:add PIPELINE -a fi-dev --stage STAGE/);
});
