// Review apps from a connected CI project, for real: pushes to branches and merge requests
// create apps from app.json environments.review, coupled at the review stage; new pushes deploy
// to them; merging/closing the merge request, deleting the branch or idleness destroys them; a
// bad app.json or a failing build leaves an errored record and no app.
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
let pipelineId: string;
let cli: (...args: string[]) => ReturnType<typeof exec>;

const SERVER = "require('http').createServer((q, r) => r.end(`${process.env.GREETING} ${require('fs').readFileSync(__dirname + '/version.txt', 'utf8').trim()}\\n`)).listen(process.env.PORT);\n";
const APP_JSON = JSON.stringify({ env: { GREETING: 'production' }, environments: { review: { env: { GREETING: 'review' } } } });

async function reviewApps(): Promise<any[]> {
  const res = await s.api('GET', `/pipelines/${pipelineId}/review-apps`);
  assert.equal(res.status < 300, true, res.text);
  return res.body;
}

/** Waits until the branch's review app has `status` (an errored or created one ends the wait too). */
async function reviewApp(branch: string, status: string): Promise<any> {
  return waitFor(`the review app of ${branch} to be ${status}`, async () => {
    const found = (await reviewApps()).find((r) => r.branch === branch);
    if (found && ['errored', 'created'].includes(found.status) && found.status !== status) throw new Error(`it is ${found.status}: ${found.message}`);
    return found?.status === status ? found : undefined;
  }, 180_000, 250);
}

async function deleted(id: string): Promise<any> {
  return waitFor(`review app ${id} to be deleted`, async () => {
    const res = await s.api('GET', `/review-apps/${id}`);
    return res.body?.status === 'deleted' ? res.body : undefined;
  }, 60_000, 200);
}

const serves = (app: string, text: string) => servesText(s, app, text);

before(async () => {
  s = await startSlipway();
  const home = mkdtempSync(join(tmpdir(), 'slipway-review-home-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  repo = await ProjectRepo.create(s, 'rev');
  assert.equal((await s.api('POST', '/apps', { name: 'rev-staging' })).status, 201);
  assert.equal((await cli('pipelines:create', 'rev', '-a', 'rev-staging', '--stage', 'staging')).code, 0);
  pipelineId = (await s.api('GET', '/pipelines/rev')).body.id;
  await repo.commit({ 'app.json': APP_JSON, Procfile: 'web: node server.js\n', 'server.js': SERVER, 'version.txt': 'main\n' }, 'app');
  await repo.push('main');
});

after(async () => {
  await s?.destroy();
});

test('reviewapps:enable needs a connected pipeline; without --autodeploy pushes make no review app', async () => {
  const early = await cli('reviewapps:enable', 'rev');
  assert.notEqual(early.code, 0);
  assert.match(early.stderr, /not connected to a CI project/);
  assert.equal((await cli('pipelines:connect', 'rev', '--project', 'rev')).code, 0);
  const enabled = await cli('reviewapps:enable', 'rev');
  assert.equal(enabled.code, 0, enabled.stderr);
  assert.match(enabled.stdout, /created on request/);

  await repo.checkout('feature-two', 'main');
  await repo.commit({ 'version.txt': 'two\n' }, 'feature two');
  await repo.push('feature-two');
  await repo.checkout('main');
  assert.deepEqual(await reviewApps(), []);
});

test('an opened merge request creates a review app (environments.review), shown on the MR', async () => {
  const patched = await s.api('PATCH', `/pipelines/${pipelineId}/review-app-config`, { automatic_review_apps: true });
  assert.equal(patched.status, 200, patched.text);
  const mr = await s.api('POST', '/projects/rev/merge_requests', { source_branch: 'feature-two', target_branch: 'main' });
  assert.equal(mr.status, 201, mr.text);
  const app = await reviewApp('feature-two', 'created');
  assert.equal(app.pr_number, mr.body.iid);
  assert.equal(app.app.name, `rev-pr-${mr.body.iid}`);
  await serves(app.app.name, 'review two');
  const coupling = await s.api('GET', `/apps/${app.app.name}/pipeline-couplings`);
  assert.equal(coupling.body.stage, 'review');
  const shown = await s.api('GET', `/projects/rev/merge_requests/${mr.body.iid}`);
  assert.equal(shown.body.review_app.name, app.app.name);
  assert.match(shown.body.review_app.url, new RegExp(`^http://${app.app.name}\\.localhost:`));

  // Closing the merge request destroys it.
  assert.equal((await s.api('POST', `/projects/rev/merge_requests/${mr.body.iid}/close`)).status, 200);
  const gone = await deleted(app.id);
  assert.match(gone.message, /Merge request !\d+ was closed/);
  assert.equal((await s.api('GET', `/apps/${app.app.name}`)).status, 404);
});

test('a pushed branch gets a review app that follows its pushes; reviewapps:list shows its URL', async () => {
  await repo.checkout('feature-one', 'main');
  await repo.commit({ 'version.txt': 'one-a\n' }, 'feature one');
  await repo.push('feature-one');
  const app = await reviewApp('feature-one', 'created');
  assert.equal(app.app.name, 'rev-feature-one');
  assert.equal(app.pr_number, null);
  await serves('rev-feature-one', 'review one-a');

  const sha = await repo.commit({ 'version.txt': 'one-b\n' }, 'more of feature one');
  await repo.push('feature-one');
  await serves('rev-feature-one', 'review one-b');
  await waitFor('the review app to record the new commit', async () => (await s.api('GET', `/review-apps/${app.id}`)).body.message === `Deployed ${sha.slice(0, 7)}`);
  assert.equal((await s.api('GET', '/apps/rev-feature-one/builds')).body.length, 2);

  const list = await cli('reviewapps:list', 'rev');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /rev-feature-one\s+feature-one\s+created\s+http:\/\/rev-feature-one\.localhost:\d+\//);
  const json = JSON.parse((await cli('reviewapps:list', 'rev', '--json')).stdout);
  assert.match(json[0].web_url, /^http:\/\/rev-feature-one\.localhost:/);

  // Deleting the branch destroys it.
  await repo.push(':feature-one');
  const gone = await deleted(app.id);
  assert.match(gone.message, /The branch feature-one was deleted/);
  assert.equal((await s.api('GET', '/apps/rev-feature-one')).status, 404);
  await repo.checkout('main');
});

test('an invalid app.json or a failing build leaves an errored review app and no app', async () => {
  await repo.checkout('bad-json', 'main');
  await repo.commit({ 'app.json': '{"environments": {"review": {"env": {"GREETING": 3}}}}' }, 'bad app.json');
  await repo.push('bad-json');
  const bad = await reviewApp('bad-json', 'errored');
  assert.match(bad.message, /app\.json: environments\.review\.env\.GREETING must be a string/);
  assert.equal((await s.api('GET', '/apps/rev-bad-json')).status, 404);

  await repo.checkout('no-build', 'main');
  await repo.git('rm', '-q', 'Procfile', 'server.js');
  await repo.commit({ 'README.md': 'nothing to build here\n' }, 'nothing buildable');
  await repo.push('no-build');
  const failed = await reviewApp('no-build', 'errored');
  assert.match(failed.message, /could not be created: The build failed/);
  assert.equal((await s.api('GET', '/apps/rev-no-build')).status, 404);
  assert.equal(failed.app.name, 'rev-no-build');
  await repo.checkout('main');
});

test('a review app idle longer than destroy_after_idle is destroyed', async () => {
  await repo.checkout('idle', 'main');
  await repo.commit({ 'version.txt': 'idle\n' }, 'idle branch');
  await repo.push('idle');
  const app = await reviewApp('idle', 'created');
  const enabled = await cli('reviewapps:enable', 'rev', '--autodeploy', '--destroy-after-idle', '2s');
  assert.equal(enabled.code, 0, enabled.stderr);
  assert.match(enabled.stdout, /destroyed after 2s without a deploy/);
  const gone = await deleted(app.id);
  assert.match(gone.message, /Not deployed for 2s: destroyed as idle/);
  assert.equal((await s.api('GET', `/apps/${app.app.name}`)).status, 404);
  const disabled = await cli('reviewapps:disable', 'rev');
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal((await s.api('GET', `/pipelines/${pipelineId}/review-app-config`)).status, 404);
});
