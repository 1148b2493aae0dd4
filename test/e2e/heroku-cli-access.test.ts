/**
 * Collaborators through the official heroku CLI (npm heroku@11.10.0, unchanged): the owner
 * manages access with access/access:add/access:remove; a collaborator, with its own key and
 * its own CLI, can deploy (git push via the credential helper), change config, scale and read
 * logs, but cannot destroy the app or manage access. Domains stay unique across owners.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';
import { exampleRepo, type ExecResult } from '../helpers/exec.js';
import { deployExample, viaRouter } from '../helpers/flow.js';

const APP = 'cli-shared';
const BOB = 'bob@example.com';

let s: Slipway;
let owner: HerokuCli;
let bob: HerokuCli;

before(async () => {
  s = await startSlipway();
  const created = await s.api('POST', '/accounts', { email: BOB });
  assert.equal(created.status, 201, created.text);
  const [{ push }, ownerCli, bobCli] = await Promise.all([deployExample(s, APP, 'node-app'), herokuCli(s), herokuCli(s, created.body.api_key)]);
  assert.equal(push.code, 0, push.stderr);
  owner = ownerCli;
  bob = bobCli;
});
after(async () => {
  await s?.destroy();
});

const flat = (text: string) => text.replace(/[›▸]/g, ' ').replace(/\s+/g, ' ');

async function ok(cli: HerokuCli, args: string[], options: { cwd?: string } = {}): Promise<ExecResult> {
  const res = await cli.run(args, options);
  assert.equal(res.code, 0, `heroku ${args.join(' ')} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

async function refused(cli: HerokuCli, args: string[]): Promise<string> {
  const res = await cli.run(args);
  assert.notEqual(res.code, 0, `heroku ${args.join(' ')} should have failed:\n${res.stdout}\n${res.stderr}`);
  return flat(res.stdout + res.stderr);
}

test('before access:add, another account cannot see the app', async () => {
  assert.match(await refused(bob, ['apps:info', '-a', APP]), /You do not have access to the app cli-shared/);
  assert.doesNotMatch((await ok(bob, ['apps'])).stdout, new RegExp(APP));
});

test('the owner adds and lists collaborators; unknown accounts get a clear message', async () => {
  const access = await ok(owner, ['access', '-a', APP]);
  assert.match(access.stdout, /admin@slipway\.local\s+owner/);

  const unknown = await refused(owner, ['access:add', 'nobody@example.com', '-a', APP]);
  assert.match(unknown, /no Slipway account for nobody@example\.com/);
  assert.match(unknown, /slipway accounts:create nobody@example\.com/);

  const added = await ok(owner, ['access:add', BOB, '-a', APP]);
  assert.match(added.stderr, new RegExp(`Adding ${BOB} access to the app ${APP}\\.\\.\\. done`));
  const listed = await ok(owner, ['access', '-a', APP]);
  assert.match(listed.stdout, /bob@example\.com\s+collaborator/);
  assert.match((await ok(owner, ['apps:info', '-a', APP])).stdout, /Collaborators:\s+bob@example\.com/);
  assert.match(await refused(owner, ['access:add', BOB, '-a', APP]), /already a collaborator/);
});

test('a collaborator deploys with git push, sets config, scales and reads logs', async () => {
  const apps = await ok(bob, ['apps']);
  assert.match(apps.stdout, /Collaborated Apps/);
  assert.match(apps.stdout, new RegExp(`${APP} \\(local\\)\\s+admin@slipway\\.local`));

  const repo = await exampleRepo('node-app');
  await ok(bob, ['git:remote', '-a', APP], { cwd: repo });
  const push = await bob.git(repo, 'push', '--force', 'heroku', 'main');
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stderr, /deployed to Slipway/);
  const releases = (await s.api('GET', `/apps/${APP}/releases`, undefined, { Range: 'version ..; max=1, order=desc' })).body;
  assert.equal(releases[0].user.email, BOB, 'the release is attributed to the collaborator');

  await ok(bob, ['config:set', 'SET_BY=bob', '-a', APP]);
  assert.equal((await s.api('GET', `/apps/${APP}/config-vars`)).body.SET_BY, 'bob');
  await waitFor('the web dyno to see the config', async () => (await viaRouter(s, APP, '/config/SET_BY')).body === 'bob', 60_000, 250);

  await ok(bob, ['ps:scale', 'worker=1', '-a', APP]);
  await waitFor('worker.1 up', async () => (await s.api('GET', `/apps/${APP}/dynos/worker.1`)).body?.state === 'up', 60_000, 250);
  const logs = await waitFor('worker lines in the logs', async () => {
    const res = await ok(bob, ['logs', '-n', '100', '-a', APP]);
    return /app\[worker\.1\]: worker tick/.test(res.stdout) ? res : undefined;
  }, 30_000, 500);
  assert.match(logs.stdout, /app\[worker\.1\]/);
});

test('a collaborator cannot destroy the app nor manage access', async () => {
  const destroy = await refused(bob, ['apps:destroy', APP, '--confirm', APP]);
  assert.match(destroy, /Only the owner of cli-shared can destroy it/);
  assert.equal((await s.api('GET', `/apps/${APP}`)).status, 200);

  assert.match(await refused(bob, ['access:add', 'admin@slipway.local', '-a', APP]), /Only the owner of cli-shared can add collaborators/);
  assert.match(await refused(bob, ['access:remove', 'admin@slipway.local', '-a', APP]), /owner cannot be removed/);
  const other = await s.api('POST', '/accounts', { email: 'carol@example.com' });
  assert.equal(other.status, 201);
  await ok(owner, ['access:add', 'carol@example.com', '-a', APP]);
  assert.match(await refused(bob, ['access:remove', 'carol@example.com', '-a', APP]), /Only the owner of cli-shared can remove collaborators/);
  assert.match((await ok(owner, ['access', '-a', APP])).stdout, /carol@example\.com\s+collaborator/);
});

test('custom domains are unique across apps; the owning app is named only to those who can see it', async () => {
  await ok(owner, ['domains:add', 'shop.shared.test', '-a', APP]);
  // Bob collaborates on cli-shared, so he may learn that it holds the hostname.
  await ok(bob, ['apps:create', 'bob-own']);
  assert.match(await refused(bob, ['domains:add', 'shop.shared.test', '-a', 'bob-own']), /already in use by the app cli-shared/);
  // Dave cannot see cli-shared: he only learns that the hostname is taken.
  const daveKey = (await s.api('POST', '/accounts', { email: 'dave@example.com' })).body.api_key as string;
  const dave = await herokuCli(s, daveKey);
  await ok(dave, ['apps:create', 'dave-own']);
  const hidden = await refused(dave, ['domains:add', 'shop.shared.test', '-a', 'dave-own']);
  assert.match(hidden, /The domain shop\.shared\.test is already in use\./);
  assert.doesNotMatch(hidden, /cli-shared/);
});

test('after access:remove, the former collaborator is locked out', async () => {
  const removed = await ok(owner, ['access:remove', BOB, '-a', APP]);
  assert.match(removed.stderr, new RegExp(`Removing ${BOB} access from the app ${APP}`));
  assert.doesNotMatch((await ok(owner, ['access', '-a', APP])).stdout, /bob@example\.com/);
  assert.match(await refused(bob, ['config', '-a', APP]), /You do not have access to the app cli-shared/);
  const repo = await exampleRepo('node-app');
  await ok(owner, ['git:remote', '-a', APP], { cwd: repo });
  const push = await bob.git(repo, 'push', '--force', 'heroku', 'main');
  assert.notEqual(push.code, 0, 'git push is refused too');
});
