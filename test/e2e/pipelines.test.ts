/**
 * Pipelines end to end, through the real heroku CLI and the API: create/add/list/info/
 * promote/remove; a promotion copies staging's slug (same id, no rebuild) into production,
 * which keeps its own config and runs its own release phase; failures change nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, readStream, viaRouter } from '../helpers/flow.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';

let s: Slipway;
let heroku: HerokuCli;
const PIPE = 'shop-pipe';
const STAGING = 'pipe-staging';
const PROD = 'pipe-prod';
const PROD2 = 'pipe-prod-two';
const DEV = 'pipe-dev';

before(async () => {
  s = await startSlipway();
  heroku = await herokuCli(s);
  const { push } = await deployExample(s, STAGING, 'node-app');
  assert.equal(push.code, 0, push.stderr);
  for (const name of [PROD, PROD2, DEV]) assert.equal((await s.api('POST', '/apps', { name })).status, 201);
  assert.equal((await s.api('PATCH', `/apps/${STAGING}/config-vars`, { WHO: 'staging-config' })).status, 200);
  assert.equal((await s.api('PATCH', `/apps/${PROD}/config-vars`, { WHO: 'production-config' })).status, 200);
  // PROD2's release phase fails, so a promotion to it fails.
  assert.equal((await s.api('PATCH', `/apps/${PROD2}/config-vars`, { WHO: 'prod-two', RELEASE_EXIT_CODE: '3' })).status, 200);
});

after(async () => {
  await s?.destroy();
});

const releasesOf = async (app: string) => (await s.api('GET', `/apps/${app}/releases`)).body as any[];
const currentOf = async (app: string) => (await releasesOf(app)).filter((r) => r.current)[0];
const settledReleases = (app: string) =>
  waitFor(`${app}'s releases to settle`, async () => {
    const list = await releasesOf(app);
    return list.every((r) => r.status !== 'pending') ? list : undefined;
  }, 120_000, 250);

test('pipelines:create, pipelines:add, pipelines and pipelines:info', async () => {
  const created = await heroku.run(['pipelines:create', PIPE, '-a', STAGING, '-s', 'staging']);
  assert.equal(created.code, 0, created.stderr);
  const added = await heroku.run(['pipelines:add', PIPE, '-a', PROD, '-s', 'production']);
  assert.equal(added.code, 0, added.stderr);

  const list = await heroku.run(['pipelines']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(PIPE));

  const info = await heroku.run(['pipelines:info', PIPE]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`${STAGING}\\s+staging`));
  assert.match(info.stdout, new RegExp(`${PROD}\\s+production`));
  assert.match(info.stdout, /owner: admin@slipway\.local/);

  const coupling = (await s.api('GET', `/apps/${PROD}/pipeline-couplings`)).body;
  assert.equal(coupling.stage, 'production');
  assert.equal(coupling.pipeline.name, PIPE);
  const byName = (await s.api('GET', `/pipelines?eq[name]=${PIPE}`)).body;
  assert.equal(byName.length, 1);
  assert.equal(byName[0].id, coupling.pipeline.id);

  // apps:info shows the pipeline too.
  const appInfo = await heroku.run(['apps:info', '-a', PROD]);
  assert.equal(appInfo.code, 0, appInfo.stderr);
  assert.match(appInfo.stdout, new RegExp(`${PIPE}.*production|production.*${PIPE}`));
});

test('pipelines:promote copies the slug; production keeps its config and runs its release phase', async () => {
  const stagingCurrent = await currentOf(STAGING);
  assert.ok(stagingCurrent?.slug?.id, 'staging has a slug');
  const stagingCount = (await releasesOf(STAGING)).length;

  const promote = await heroku.run(['pipelines:promote', '-a', STAGING]);
  assert.equal(promote.code, 0, promote.stdout + promote.stderr);
  assert.match(promote.stdout, /Promotion successful/);
  // The CLI streams the target's release-phase output only if it sees the release still
  // pending when it polls; whether it does is a race, so the output is checked through the API below.
  assert.match(promote.stdout, new RegExp(`${PROD}.*succeeded`));

  const prodReleases = await settledReleases(PROD);
  const promoted = prodReleases[prodReleases.length - 1];
  assert.equal(promoted.slug.id, stagingCurrent.slug.id, 'production runs the very same slug');
  assert.equal(promoted.description, `Promote ${STAGING} v${stagingCurrent.version}`);
  assert.equal(promoted.status, 'succeeded');
  assert.equal(promoted.current, true);
  assert.ok(promoted.output_stream_url, 'the promoted release ran a release phase');
  assert.match(await readStream(promoted.output_stream_url), new RegExp(`release phase ran for v${promoted.version}`));
  const prodConfig = (await s.api('GET', `/apps/${PROD}/releases/${promoted.version}/config-vars`)).body;
  assert.equal(prodConfig.WHO, 'production-config');

  // Each app's dyno sees its own config through the router.
  await waitFor('production to serve its own config', async () => (await viaRouter(s, PROD, '/config/WHO')).body === 'production-config', 90_000, 250);
  assert.equal((await viaRouter(s, STAGING, '/config/WHO')).body, 'staging-config');
  assert.equal((await releasesOf(STAGING)).length, stagingCount, 'the source got no new release');
});

test('promotion targets through the API: one fails, the others and the source are untouched', async () => {
  const added = await heroku.run(['pipelines:add', PIPE, '-a', PROD2, '-s', 'production']);
  assert.equal(added.code, 0, added.stderr);
  const coupling = (await s.api('GET', `/apps/${STAGING}/pipeline-couplings`)).body;
  const ids = Object.fromEntries(await Promise.all([STAGING, PROD, PROD2].map(async (n) => [n, (await s.api('GET', `/apps/${n}`)).body.id])));
  const stagingBefore = await releasesOf(STAGING);
  const prodBefore = await currentOf(PROD);

  const res = await s.api('POST', '/pipeline-promotions', {
    pipeline: { id: coupling.pipeline.id },
    source: { app: { id: ids[STAGING] } },
    targets: [{ app: { id: ids[PROD] } }, { app: { id: ids[PROD2] } }],
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.pipeline.id, coupling.pipeline.id);
  assert.equal(res.body.source.app.id, ids[STAGING]);
  const targets = await waitFor('every target to finish', async () => {
    const list = (await s.api('GET', `/pipeline-promotions/${res.body.id}/promotion-targets`)).body as any[];
    return list.length === 2 && list.every((t) => t.status !== 'pending') ? list : undefined;
  }, 120_000, 250);
  const prod = targets.find((t) => t.app.id === ids[PROD]);
  const prod2 = targets.find((t) => t.app.id === ids[PROD2]);
  assert.equal(prod.status, 'succeeded');
  assert.equal(prod.error_message, null);
  assert.ok(prod.release?.id);
  assert.equal(prod2.status, 'failed');
  assert.match(prod2.error_message, /release phase/);
  assert.ok(prod2.release?.id, 'the failed target still names the release it tried');
  assert.equal((await s.api('GET', `/pipeline-promotions/${res.body.id}`)).body.status, 'completed');

  const prodNow = await currentOf(PROD);
  assert.equal(prodNow.id, prod.release.id);
  assert.notEqual(prodNow.id, prodBefore.id);
  assert.equal(prodNow.slug.id, (await currentOf(STAGING)).slug.id);
  const failedRelease = (await s.api('GET', `/apps/${PROD2}/releases/${prod2.release.id}`)).body;
  assert.equal(failedRelease.status, 'failed');
  assert.notEqual((await currentOf(PROD2))?.id, failedRelease.id, 'the failed release is not current');
  assert.deepEqual((await releasesOf(STAGING)).map((r) => r.id), stagingBefore.map((r) => r.id));

  // The CLI reports the partial failure too.
  const cli = await heroku.run(['pipelines:promote', '-a', STAGING]);
  assert.equal(cli.code, 1, cli.stdout + cli.stderr);
  assert.match(cli.stderr, /Promotion to some apps failed/);
  assert.match(cli.stdout, new RegExp(`${PROD2}.*failed`));
  await settledReleases(PROD);
});

test('promoting from the last stage, or without a slug, fails clearly and changes nothing', async () => {
  const coupling = (await s.api('GET', `/apps/${PROD}/pipeline-couplings`)).body;
  const prodReleases = (await releasesOf(PROD)).length;
  const stagingReleases = (await releasesOf(STAGING)).length;

  const cliFromProd = await heroku.run(['pipelines:promote', '-a', PROD]);
  assert.notEqual(cliFromProd.code, 0);
  assert.match(cliFromProd.stderr, /Cannot promote/);
  const apiFromProd = await s.api('POST', '/pipeline-promotions', { pipeline: { id: coupling.pipeline.id }, source: { app: { id: coupling.app.id } }, targets: [] });
  assert.equal(apiFromProd.status, 422, apiFromProd.text);
  assert.match(apiFromProd.body.message, /no downstream stage/);

  const dev = await heroku.run(['pipelines:add', PIPE, '-a', DEV, '-s', 'development']);
  assert.equal(dev.code, 0, dev.stderr);
  const cliNoSlug = await heroku.run(['pipelines:promote', '-a', DEV]);
  assert.notEqual(cliNoSlug.code, 0);
  assert.match(cliNoSlug.stderr, /has no slug to promote/);
  const devId = (await s.api('GET', `/apps/${DEV}`)).body.id;
  const stagingId = (await s.api('GET', `/apps/${STAGING}`)).body.id;
  const apiNoSlug = await s.api('POST', '/pipeline-promotions', { pipeline: { id: coupling.pipeline.id }, source: { app: { id: devId } }, targets: [{ app: { id: stagingId } }] });
  assert.equal(apiNoSlug.status, 422);
  assert.match(apiNoSlug.body.message, /deploy it first/);

  assert.equal((await releasesOf(PROD)).length, prodReleases);
  assert.equal((await releasesOf(STAGING)).length, stagingReleases);
});

test('an app is in at most one pipeline; pipelines:remove takes it out', async () => {
  const other = await s.api('POST', '/pipelines', { name: 'other-pipe' });
  assert.equal(other.status, 201, other.text);
  const twice = await s.api('POST', '/pipeline-couplings', { app: PROD, pipeline: other.body.id, stage: 'staging' });
  assert.equal(twice.status, 409, twice.text);
  const badStage = await s.api('POST', '/pipeline-couplings', { app: DEV, pipeline: other.body.id, stage: 'test' });
  assert.equal(badStage.status, 422);

  const removed = await heroku.run(['pipelines:remove', '-a', DEV]);
  assert.equal(removed.code, 0, removed.stderr);
  const gone = await s.api('GET', `/apps/${DEV}/pipeline-couplings`);
  assert.equal(gone.status, 404);
  const moved = await s.api('POST', '/pipeline-couplings', { app: DEV, pipeline: other.body.id, stage: 'development' });
  assert.equal(moved.status, 201, moved.text);
  assert.equal((await s.api('DELETE', '/pipelines/other-pipe')).status, 200);
  assert.equal((await s.api('GET', `/apps/${DEV}/pipeline-couplings`)).status, 404, 'deleting a pipeline uncouples its apps');
  assert.equal((await s.api('GET', `/apps/${DEV}`)).status, 200, 'and keeps them');
});

test('only apps and pipelines the caller can access', async () => {
  const account = await s.api('POST', '/accounts', { email: 'outsider@example.com' });
  assert.equal(account.status, 201, account.text);
  const as = { Authorization: `Bearer ${account.body.api_key}` };
  const pipelineId = (await s.api('GET', `/apps/${PROD}/pipeline-couplings`)).body.pipeline.id;
  const prodId = (await s.api('GET', `/apps/${PROD}`)).body.id;

  assert.deepEqual((await s.api('GET', '/pipelines', undefined, as)).body, []);
  assert.equal((await s.api('GET', `/pipelines/${pipelineId}`, undefined, as)).status, 404);
  assert.equal((await s.api('GET', `/pipelines/${pipelineId}/pipeline-couplings`, undefined, as)).status, 404);
  assert.deepEqual((await s.api('POST', '/filters/apps', { in: { id: [prodId] } }, as)).body, []);
  assert.ok([403, 404].includes((await s.api('GET', `/apps/${PROD}/pipeline-couplings`, undefined, as)).status));
  assert.equal((await s.api('POST', '/apps', { name: 'outsider-app' }, as)).status, 201);
  const sneak = await s.api('POST', '/pipeline-couplings', { app: 'outsider-app', pipeline: pipelineId, stage: 'staging' }, as);
  assert.equal(sneak.status, 404, sneak.text);
  const promote = await s.api('POST', '/pipeline-promotions', { pipeline: { id: pipelineId }, source: { app: { id: prodId } }, targets: [] }, as);
  assert.ok([403, 404].includes(promote.status), promote.text);

  // The owner sees the apps it can access.
  const apps = (await s.api('POST', '/filters/apps', { in: { id: [prodId] } })).body;
  assert.deepEqual(apps.map((a: any) => a.name), [PROD]);
});

test('destroying the source app leaves the promoted slug running downstream', async () => {
  const slugId = (await currentOf(PROD)).slug.id;
  assert.equal((await s.api('DELETE', `/apps/${STAGING}`)).status, 200);
  assert.equal((await s.api('DELETE', `/apps/${PROD}/dynos`)).status, 202);
  await waitFor('production to come back on the promoted slug', async () => (await viaRouter(s, PROD, '/config/WHO')).body === 'production-config', 90_000, 250);
  assert.equal((await currentOf(PROD)).slug.id, slugId);
  // A new release of production (a config change) still finds the slug.
  assert.equal((await s.api('PATCH', `/apps/${PROD}/config-vars`, { WHO: 'still-production' })).status, 200);
  const releases = await settledReleases(PROD);
  assert.equal(releases[releases.length - 1].status, 'succeeded');
  await waitFor('the new config to be served', async () => (await viaRouter(s, PROD, '/config/WHO')).body === 'still-production', 90_000, 250);
});
