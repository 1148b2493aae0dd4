/**
 * Promotion with approval, through the slipway CLI and the heroku CLI: a stage policy holds a
 * promotion (nothing released) until an authorised user approves it — a different one when the
 * policy says so; the wait survives a restart; approving twice, approving one's own promotion
 * against policy, or approving what needs no approval each fail clearly and change nothing;
 * rejecting releases nothing. Every promotion ships the source's slug (same id, no rebuild).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, viaRouter } from '../helpers/flow.js';
import { exec } from '../helpers/exec.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';

let s: Slipway;
let heroku: HerokuCli;
const PIPE = 'fp-shop';
const STAGING = 'fp-staging';
const PROD = 'fp-prod';
const REVIEWER = 'reviewer@example.com';

type Cli = (args: string[]) => ReturnType<typeof exec>;
let admin: Cli;
let reviewer: Cli;
let reviewerKey: string;

/** The slipway CLI logged in with `key`, in its own home. */
async function slipwayCli(key: string): Promise<Cli> {
  const home = mkdtempSync(join(tmpdir(), 'slipway-fp-cli-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: undefined, SLIPWAY_API_KEY: undefined, SLIPWAY_APP: undefined, NO_COLOR: '1' };
  const run: Cli = (args) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  const login = await run(['login', '--url', s.url, `--api-key=${key}`]);
  assert.equal(login.code, 0, login.stderr);
  return run;
}

before(async () => {
  s = await startSlipway();
  heroku = await herokuCli(s);
  const { push } = await deployExample(s, STAGING, 'node-app');
  assert.equal(push.code, 0, push.stderr);
  assert.equal((await s.api('POST', '/apps', { name: PROD })).status, 201);
  assert.equal((await s.api('PATCH', `/apps/${PROD}/config-vars`, { WHO: 'production-config' })).status, 200);
  const account = await s.api('POST', '/accounts', { email: REVIEWER });
  assert.equal(account.status, 201, account.text);
  reviewerKey = account.body.api_key;
  // The reviewer collaborates on production only: enough to approve promotions into it.
  assert.equal((await s.api('POST', `/apps/${PROD}/collaborators`, { user: REVIEWER })).status, 201);
  admin = await slipwayCli(s.apiKey);
  reviewer = await slipwayCli(reviewerKey);
});

after(async () => {
  await s?.destroy();
});

const releasesOf = async (app: string) => (await s.api('GET', `/apps/${app}/releases`)).body as any[];
const currentOf = async (app: string) => (await releasesOf(app)).filter((r) => r.current).pop();
const recordOf = async (id: string) => (await s.api('GET', `/pipeline-promotions/${id}/record`)).body;
const promotionsOf = async () => (await s.api('GET', `/pipelines/${PIPE}/promotions`, undefined, { Range: 'created_at ..; order=desc' })).body as any[];
const promotionId = (stdout: string) => /Promotion ([0-9a-f-]{36}) /.exec(stdout)?.[1] as string;

test('pipelines:create and pipelines:add; a promotion with no policy runs at once', async () => {
  const created = await admin(['pipelines:create', PIPE, '-a', STAGING, '--stage', 'staging']);
  assert.equal(created.code, 0, created.stderr);
  const added = await admin(['pipelines:add', PIPE, '-a', PROD, '-s', 'production']);
  assert.equal(added.code, 0, added.stderr);

  const promote = await admin(['pipelines:promote', '-a', STAGING]);
  assert.equal(promote.code, 0, promote.stdout + promote.stderr);
  assert.match(promote.stderr, new RegExp(`Promoting ${STAGING} v\\d+ to ${PROD}\\.\\.\\. done, succeeded`));
  assert.match(promote.stdout, new RegExp(`${PROD}\\s+succeeded\\s+v\\d+`));
  assert.equal((await currentOf(PROD)).slug.id, (await currentOf(STAGING)).slug.id, 'the same slug: nothing was rebuilt');

  const [record] = await promotionsOf();
  assert.equal(record.approval, null);
  assert.equal(record.requested_by.email, 'admin@slipway.local');
  // Approving a promotion that needed no approval is an error that says so.
  const needless = await admin(['pipelines:approve', record.id]);
  assert.equal(needless.code, 1, needless.stdout + needless.stderr);
  assert.match(needless.stderr, /needs no approval/);
});

test('a stage requiring a different user holds the promotion; the requester cannot approve it', async () => {
  const policy = await admin(['pipelines:require-approval', PIPE, '--stage', 'production', '--different-user']);
  assert.equal(policy.code, 0, policy.stderr);
  assert.match(policy.stdout, /production stage of fp-shop now need approval by a user other than the requester/);
  const denied = await reviewer(['pipelines:require-approval', PIPE, '--off']);
  assert.equal(denied.code, 1, denied.stdout + denied.stderr);
  assert.match(denied.stderr, /Only the owner of pipeline fp-shop/);

  // A new staging release (config change) to promote.
  assert.equal((await s.api('PATCH', `/apps/${STAGING}/config-vars`, { STEP: 'two' })).status, 200);
  await waitFor('staging to settle', async () => (await releasesOf(STAGING)).every((r) => r.status !== 'pending'), 120_000, 250);
  const prodBefore = await releasesOf(PROD);

  const promote = await admin(['pipelines:promote', '-a', STAGING]);
  assert.equal(promote.code, 0, promote.stdout + promote.stderr);
  assert.match(promote.stdout, /is waiting for approval by a user other than the one who asked for it/);
  assert.match(promote.stdout, /Nothing is released until then/);
  const id = promotionId(promote.stdout);
  assert.ok(id, promote.stdout);

  const record = await recordOf(id);
  assert.equal(record.status, 'pending');
  assert.deepEqual(record.approval, { policy: 'different_user', status: 'awaiting', decided_by: null, decided_at: null });
  assert.deepEqual(record.targets.map((t: any) => [t.app.name, t.stage, t.status, t.release]), [[PROD, 'production', 'awaiting_approval', null]]);
  // Heroku's shape has no approvals: the target is pending, with a note.
  const heroTargets = (await s.api('GET', `/pipeline-promotions/${id}/promotion-targets`)).body;
  assert.equal(heroTargets[0].status, 'pending');
  assert.match(heroTargets[0].error_message, /Waiting for approval/);
  assert.equal((await s.api('GET', `/pipeline-promotions/${id}`)).body.status, 'pending');

  const own = await admin(['pipelines:approve', id]);
  assert.equal(own.code, 1, own.stdout + own.stderr);
  assert.match(own.stderr, /must be approved by someone other than the user who asked for it/);
  assert.equal((await recordOf(id)).approval.status, 'awaiting');
  assert.deepEqual((await releasesOf(PROD)).map((r) => r.id), prodBefore.map((r) => r.id), 'nothing was released');

  const info = await admin(['pipelines:info', PIPE]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /production requires approval by a user other than the requester/);
  assert.match(info.stdout, new RegExp(`${PROD}\\s+production\\s+v\\d+\\s+[0-9a-f]{7}\\s+succeeded, 1 promotion awaiting approval`));
});

test('a waiting promotion survives a restart, then another user approves it', async () => {
  const [waiting] = await promotionsOf();
  assert.equal(waiting.approval.status, 'awaiting');
  await s.stop();
  await s.restart();
  const after = await recordOf(waiting.id);
  assert.equal(after.status, 'pending');
  assert.equal(after.approval.status, 'awaiting');
  assert.equal(after.targets[0].status, 'awaiting_approval');

  const stagingSlug = (await currentOf(STAGING)).slug.id;
  const approve = await reviewer(['pipelines:approve', '-a', PROD]);
  assert.equal(approve.code, 0, approve.stdout + approve.stderr);
  assert.match(approve.stderr, new RegExp(`Approved promotion ${waiting.id} \\(asked for by admin@slipway\\.local\\)`));
  assert.match(approve.stdout, new RegExp(`${PROD}\\s+succeeded`));

  const done = await recordOf(waiting.id);
  assert.equal(done.status, 'completed');
  assert.equal(done.approval.status, 'approved');
  assert.equal(done.approval.decided_by.email, REVIEWER);
  assert.ok(done.approval.decided_at >= done.created_at);
  assert.equal(done.requested_by.email, 'admin@slipway.local');
  const prod = await currentOf(PROD);
  assert.equal(prod.slug.id, stagingSlug, 'production runs staging’s slug');
  assert.equal(prod.id, done.targets[0].release.id);
  const config = (await s.api('GET', `/apps/${PROD}/releases/${prod.version}/config-vars`)).body;
  assert.equal(config.WHO, 'production-config');
  assert.equal(config.STEP, undefined, 'production keeps its own config');
  await waitFor('production to serve', async () => (await viaRouter(s, PROD, '/config/WHO')).body === 'production-config', 90_000, 250);

  const twice = await reviewer(['pipelines:approve', waiting.id]);
  assert.equal(twice.code, 1, twice.stdout + twice.stderr);
  assert.match(twice.stderr, new RegExp(`was already approved by ${REVIEWER}`));
  const none = await reviewer(['pipelines:approve', '-a', PROD]);
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.match(none.stderr, /No promotion into fp-prod is waiting for approval/);
});

test('rejecting a waiting promotion releases nothing; outsiders cannot decide', async () => {
  const prodBefore = await releasesOf(PROD);
  const promote = await admin(['pipelines:promote', '-a', STAGING]);
  assert.equal(promote.code, 0, promote.stderr);
  const id = promotionId(promote.stdout);

  const outsider = await s.api('POST', '/accounts', { email: 'outsider@example.com' });
  const as = { Authorization: `Bearer ${outsider.body.api_key}` };
  const sneaky = await s.api('POST', `/pipeline-promotions/${id}/actions/approve`, undefined, as);
  assert.equal(sneaky.status, 404, sneaky.text);

  const reject = await reviewer(['pipelines:reject', id]);
  assert.equal(reject.code, 0, reject.stderr);
  assert.match(reject.stdout, /Nothing was released to fp-prod/);
  const record = await recordOf(id);
  assert.equal(record.status, 'completed');
  assert.equal(record.approval.status, 'rejected');
  assert.equal(record.targets[0].status, 'failed');
  assert.match(record.targets[0].error_message, /Rejected by reviewer@example\.com/);
  const late = await admin(['pipelines:approve', id]);
  assert.equal(late.code, 1, late.stdout + late.stderr);
  assert.match(late.stderr, /already rejected/);
  assert.deepEqual((await releasesOf(PROD)).map((r) => r.id), prodBefore.map((r) => r.id));

  const list = await admin(['pipelines:promotions', PIPE]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id}\\s+${STAGING} v\\d+ → ${PROD}\\s+rejected\\s+by admin@slipway\\.local, rejected by ${REVIEWER}`));
  assert.match(list.stdout, new RegExp(`approved by ${REVIEWER}`));
});

test('heroku pipelines:promote waits for the approval, then reports success', async () => {
  const policy = await admin(['pipelines:require-approval', PIPE, '--any-user']);
  assert.equal(policy.code, 0, policy.stderr);
  const before = (await promotionsOf()).length;
  const running = heroku.run(['pipelines:promote', '-a', STAGING]);
  const waiting = await waitFor('the promotion to wait', async () => {
    const list = await promotionsOf();
    return list.length > before && list[0].approval?.status === 'awaiting' ? list[0] : undefined;
  }, 60_000, 250);
  assert.equal(waiting.approval.policy, 'any_user');
  // Any authorised user may approve now, the requester included.
  const approve = await admin(['pipelines:approve', waiting.id]);
  assert.equal(approve.code, 0, approve.stdout + approve.stderr);
  const cli = await running;
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /Promotion successful/);
  assert.match(cli.stdout, new RegExp(`${PROD}.*succeeded`));

  const off = await admin(['pipelines:require-approval', PIPE, '--off']);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /production stage of fp-shop no longer need approval/);
});
