// Auto-deploy from a connected CI project, for real: git pushes to a project repository, real
// .gitlab-ci.yml pipelines, real builds and dynos, requests through the router. A stage follows
// a branch after green CI (built once, the other app of the stage gets the same slug), a red
// pipeline deploys nothing and says so, and wait-for-CI off deploys every push.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { viaRouter, servesText } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let repo: ProjectRepo;
let cli: (...args: string[]) => ReturnType<typeof exec>;

const SERVER = [
  "const http = require('http');",
  "const fs = require('fs');",
  "const version = fs.readFileSync(__dirname + '/version.txt', 'utf8').trim();",
  "http.createServer((req, res) => res.end(`${process.env.GREETING || 'hello'} ${version}\\n`)).listen(process.env.PORT);",
].join('\n');

const CI = ['test:', '  script:', '    - test -f tests-pass', '    - echo "tests passed for $CI_COMMIT_SHORT_SHA"', ''].join('\n');

/** Files of the app at `version`; `green` decides whether its CI pipeline passes. */
const appFiles = (version: string, green: boolean): Record<string, string> => ({
  Procfile: 'web: node server.js\n',
  'server.js': `${SERVER}\n`,
  'version.txt': `${version}\n`,
  '.gitlab-ci.yml': CI,
  ...(green ? { 'tests-pass': 'yes\n' } : {}),
});

async function deploys(pipeline: string): Promise<any[]> {
  const res = await s.api('GET', `/pipelines/${pipeline}/auto-deploys`);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function finishedDeploy(pipeline: string, sha: string, stage = 'staging'): Promise<any> {
  return waitFor(`the auto-deploy of ${sha.slice(0, 7)} to ${stage}`, async () => {
    const found = (await deploys(pipeline)).find((d) => d.sha === sha && d.stage === stage);
    return found && ['succeeded', 'failed', 'skipped'].includes(found.status) ? found : undefined;
  }, 180_000, 250);
}

const serves = (app: string, text: string) => servesText(s, app, text);

before(async () => {
  s = await startSlipway();
  const home = mkdtempSync(join(tmpdir(), 'slipway-autodeploy-home-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  repo = await ProjectRepo.create(s, 'shop');
  for (const name of ['shop-staging', 'shop-staging-eu', 'shop-prod']) {
    assert.equal((await s.api('POST', '/apps', { name })).status, 201);
  }
  await s.api('PATCH', '/apps/shop-staging-eu/config-vars', { GREETING: 'hallo' });
  const me = (await s.api('GET', '/account')).body;
  const pipeline = await s.api('POST', '/pipelines', { name: 'shop', owner: { id: me.id, type: 'user' } });
  assert.equal(pipeline.status, 201, pipeline.text);
  for (const [app, stage] of [['shop-staging', 'staging'], ['shop-staging-eu', 'staging'], ['shop-prod', 'production']]) {
    const coupled = await s.api('POST', '/pipeline-couplings', { app, pipeline: pipeline.body.id, stage });
    assert.equal(coupled.status, 201, coupled.text);
  }
});

after(async () => {
  await s?.destroy();
});

test('pipelines:connect and pipelines:autodeploy set the rules; bad input is refused', async () => {
  const early = await cli('pipelines:autodeploy', 'shop', '--branch', 'main', '--stage', 'staging');
  assert.notEqual(early.code, 0);
  assert.match(early.stderr, /not connected to a CI project.*pipelines:connect shop --project/s);
  const connect = await cli('pipelines:connect', 'shop', '--project', 'shop');
  assert.equal(connect.code, 0, connect.stderr);
  assert.match(connect.stdout, /Connected shop to the project shop/);
  assert.equal((await s.api('GET', '/pipelines/shop/connection')).body.project.name, 'shop');
  const missing = await s.api('PATCH', '/pipelines/shop/connection', { project: 'no-such-project' });
  assert.equal(missing.status, 404);

  const rule = await cli('pipelines:autodeploy', 'shop', '--branch', 'main', '--stage', 'staging');
  assert.equal(rule.code, 0, rule.stderr);
  assert.match(rule.stdout, /deploys main to staging after CI passes/);
  const review = await s.api('PUT', '/pipelines/shop/auto-deploy-rules/review', { branch: 'main' });
  assert.equal(review.status, 422);
  assert.match(review.body.message, /review apps follow branches/);
  const list = await cli('pipelines:autodeploy', 'shop');
  assert.match(list.stdout, /main\s+staging\s+after CI passes/);
});

test('green CI: the commit is built once and released on every staging app with the same slug', async () => {
  const sha = await repo.commit(appFiles('v1', true), 'first version');
  await repo.push('main');
  const deploy = await finishedDeploy('shop', sha);
  assert.equal(deploy.status, 'succeeded', deploy.message);
  assert.match(deploy.message, /CI pipeline #1 passed; deployed [0-9a-f]{7} to shop-staging v\d+ \(built\), shop-staging-eu v\d+ \(same slug\)/);
  assert.ok(deploy.ci_pipeline?.id);
  await serves('shop-staging', 'hello v1');
  await serves('shop-staging-eu', 'hallo v1');

  // Built once: one build on the first app, none on the second, and both run the same slug.
  const builds = (await s.api('GET', '/apps/shop-staging/builds')).body;
  assert.equal(builds.length, 1);
  assert.equal(builds[0].source_blob.version, sha);
  assert.equal((await s.api('GET', '/apps/shop-staging-eu/builds')).body.length, 0);
  const slugOf = async (app: string) => (await s.api('GET', `/apps/${app}/releases`)).body.at(-1).slug.id;
  assert.equal(await slugOf('shop-staging-eu'), await slugOf('shop-staging'));
  // Production is not a target of this rule.
  assert.equal((await s.api('GET', '/apps/shop-prod/builds')).body.length, 0);
});

test('red CI deploys nothing and the record says why; pipelines:deploys shows both', async () => {
  assert.equal((await repo.git('rm', '-q', 'tests-pass')).code, 0);
  const sha = await repo.commit({ 'version.txt': 'v2\n' }, 'break the tests');
  await repo.push('main');
  const deploy = await finishedDeploy('shop', sha);
  assert.equal(deploy.status, 'failed');
  assert.match(deploy.message, /CI pipeline #2 failed: [0-9a-f]{7} was not deployed to staging/);
  assert.equal(deploy.build, null);
  assert.equal((await s.api('GET', '/apps/shop-staging/builds')).body.length, 1);
  assert.match((await viaRouter(s, 'shop-staging')).body, /hello v1/);

  const shown = await cli('pipelines:deploys', 'shop');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`${sha.slice(0, 7)}\\s+main → staging\\s+failed`));
  assert.match(shown.stdout, /main → staging\s+succeeded/);
});

test('with --no-wait-for-ci every push deploys at once, red CI or not; --off stops it', async () => {
  const rule = await cli('pipelines:autodeploy', 'shop', '--branch', 'main', '--stage', 'staging', '--no-wait-for-ci');
  assert.equal(rule.code, 0, rule.stderr);
  assert.match(rule.stdout, /on every push/);
  const sha = await repo.commit({ 'version.txt': 'v3\n' }, 'v3, tests still red');
  await repo.push('main');
  const deploy = await finishedDeploy('shop', sha);
  assert.equal(deploy.status, 'succeeded', deploy.message);
  assert.match(deploy.message, /^CI not awaited/);
  assert.equal(deploy.ci_pipeline, null);
  await serves('shop-staging', 'hello v3');
  await serves('shop-staging-eu', 'hallo v3');

  const off = await cli('pipelines:autodeploy', 'shop', '--stage', 'staging', '--off');
  assert.equal(off.code, 0, off.stderr);
  assert.deepEqual((await s.api('GET', '/pipelines/shop/auto-deploy-rules')).body, []);
  const disconnect = await cli('pipelines:disconnect', 'shop');
  assert.equal(disconnect.code, 0, disconnect.stderr);
  assert.equal((await s.api('GET', '/pipelines/shop/connection')).body.project, null);
});
