import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exampleRepo, git } from '../helpers/exec.js';
import { deployExample, gitUrl, viaRouter, recentLogs } from '../helpers/flow.js';

let s: Slipway;
before(async () => {
  s = await startSlipway();
});
after(async () => {
  await s?.destroy();
});

test('git push builds, runs the release phase, releases and serves through the router', async () => {
  const { push } = await deployExample(s, 'shop', 'node-app');
  assert.equal(push.code, 0, push.stderr);
  const out = push.stderr;
  assert.match(out, /remote: -----> Node\.js app detected/);
  assert.match(out, /remote: -----> Running release command/);
  assert.match(out, /release phase ran for v2/);
  assert.match(out, /Released v2/);
  assert.match(out, new RegExp(`http://shop\\.localhost:${s.port}/ deployed to Slipway`));
  // v2 is released once its release phase passed; the push ends with the app's URL.
  const remote = out.split('\n').filter((l) => /^remote: +\S/.test(l)).map((l) => l.replace(/^remote: +/, '').trimEnd());
  const at = (text: string) => remote.findIndex((l) => l.includes(text));
  const order = ['Release command declared: v2', 'Running release command', 'release phase ran for v2', 'Released v2', 'Web dynos are up', 'deployed to Slipway'].map(at);
  assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), `out of order (${order}):\n${remote.join('\n')}`);
  assert.equal(order.at(-1), remote.length - 1, 'the URL is the last line');
  // The push only returns once the web dyno answers.
  const res = await viaRouter(s, 'shop');
  assert.equal(res.status, 200);
  assert.match(res.body, /Hello from node-app/);
  assert.match(res.body, /web\.1/);
  assert.ok(res.headers['x-request-id'], 'the router adds a request id');

  const releases = await s.api('GET', '/apps/shop/releases');
  assert.deepEqual(releases.body.map((r: any) => [r.version, r.status, r.current]), [[1, 'succeeded', false], [2, 'succeeded', true]]);
  assert.match(releases.body[1].description, /^Deploy [0-9a-f]{8}$/);
  const output = await fetch(releases.body[1].output_stream_url).then((r) => r.text());
  assert.match(output, /release phase ran for v2/);

  const dynos = await s.api('GET', '/apps/shop/dynos');
  assert.deepEqual(dynos.body.map((d: any) => [d.name, d.state, d.release.version]), [['web.1', 'up', 2]]);

  const logs = await recentLogs(s, 'shop');
  assert.match(logs, /app\[web\.1\]: node-app listening/);
  assert.match(logs, /slipway\[router\]: at=info method=GET path="\/" host=shop\.localhost .*status=200/);
  assert.match(logs, /slipway\[web\.1\]: State changed from starting to up/);
});

test('config changes make a release and restart dynos with the new environment', async () => {
  const set = await s.api('PATCH', '/apps/shop/config-vars', { GREETING: 'hola', SECRET_TOKEN: 's3cr3t-value-123' });
  assert.equal(set.status, 200);
  assert.equal(set.body.GREETING, 'hola');
  const latest = await s.api('GET', '/apps/shop/releases', undefined, { Range: 'version ..; order=desc,max=1' });
  assert.equal(latest.body.length, 1);
  assert.equal(latest.body[0].version, 3);
  assert.equal(latest.body[0].description, 'Set GREETING, SECRET_TOKEN config vars');
  await waitFor('the new config in the web dyno', async () => (await viaRouter(s, 'shop', '/config/GREETING')).body === 'hola');

  const unset = await s.api('PATCH', '/apps/shop/config-vars', { GREETING: null });
  assert.equal(unset.body.GREETING, undefined);
  await waitFor('GREETING gone', async () => (await viaRouter(s, 'shop', '/config/GREETING')).status === 404);
  const snapshot = await s.api('GET', '/apps/shop/releases/3/config-vars');
  assert.equal(snapshot.body.GREETING, 'hola', 'each release keeps its own config snapshot');

  const logs = await recentLogs(s, 'shop');
  assert.ok(!logs.includes('s3cr3t-value-123'), 'config values never reach the logs');
});

test('scaling starts and stops dynos; the router balances across web dynos', async () => {
  const scaled = await s.api('PATCH', '/apps/shop/formation', { updates: [{ type: 'web', quantity: '2' }, { type: 'worker', quantity: '+1' }] });
  assert.equal(scaled.status, 200, scaled.text);
  const byType = Object.fromEntries(scaled.body.map((f: any) => [f.type, f.quantity]));
  assert.deepEqual(byType, { web: 2, worker: 1 });
  await waitFor('web.1, web.2 and worker.1 up', async () => {
    const dynos = await s.api('GET', '/apps/shop/dynos');
    const up = dynos.body.filter((d: any) => d.state === 'up').map((d: any) => d.name);
    return ['web.1', 'web.2', 'worker.1'].every((n) => up.includes(n)) && dynos.body.length === 3;
  });
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(/web\.\d/.exec((await viaRouter(s, 'shop')).body)![0]);
  assert.deepEqual([...seen].sort(), ['web.1', 'web.2']);
  await waitFor('worker output in the logs', async () => /app\[worker\.1\]: worker tick/.test(await recentLogs(s, 'shop')));

  const down = await s.api('PATCH', '/apps/shop/formation', { updates: [{ type: 'web', quantity: '-1' }, { type: 'worker', quantity: 0 }] });
  assert.deepEqual(Object.fromEntries(down.body.map((f: any) => [f.type, f.quantity])), { web: 1, worker: 0 });
  await waitFor('only web.1 left', async () => {
    const dynos = await s.api('GET', '/apps/shop/dynos');
    return dynos.body.length === 1 && dynos.body[0].name === 'web.1';
  });
  const bad = await s.api('PATCH', '/apps/shop/formation', { updates: [{ type: 'nope', quantity: 1 }] });
  assert.equal(bad.status, 404);
  assert.match(bad.body.message, /Couldn't find that process type \(nope\)/);
  const badQuantity = await s.api('PATCH', '/apps/shop/formation', { updates: [{ type: 'web', quantity: 'lots' }] });
  assert.equal(badQuantity.status, 422);
});

test('a failed build rejects the push and the app keeps serving its current release', async () => {
  const before = await s.api('GET', '/apps/shop/releases');
  const dir = await exampleRepo('failing-build');
  const push = await git(dir, 'push', '--force', gitUrl(s, 'shop'), 'main');
  assert.notEqual(push.code, 0, 'the push is rejected');
  assert.match(push.stderr, /Build step failed: missing API_BASE setting/);
  assert.match(push.stderr, /Build failed: the app keeps running its current release/);
  assert.match(push.stderr, /Push rejected/);
  const after = await s.api('GET', '/apps/shop/releases');
  assert.equal(after.body.length, before.body.length, 'no release was made');
  const res = await viaRouter(s, 'shop');
  assert.equal(res.status, 200);
  assert.match(res.body, /Hello from node-app/);
  const remote = await git(dir, 'ls-remote', gitUrl(s, 'shop'), 'refs/heads/main');
  assert.ok(!remote.stdout.includes((await git(dir, 'rev-parse', 'HEAD')).stdout.trim()), 'the ref was not updated');
});

test('a failing release phase leaves the previous release current', async () => {
  const before = (await s.api('GET', '/apps/shop/releases')).body.at(-1);
  await s.api('PATCH', '/apps/shop/config-vars', { RELEASE_EXIT_CODE: '3' });
  const failed = await waitFor('the release to fail', async () => {
    const r = (await s.api('GET', '/apps/shop/releases')).body.at(-1);
    return r.status === 'failed' ? r : undefined;
  });
  assert.equal(failed.version, before.version + 1);
  assert.equal(failed.current, false);
  const output = await fetch(failed.output_stream_url).then((r) => r.text());
  assert.match(output, /release phase ran/);
  assert.match(output, /exit status 3/);
  const current = (await s.api('GET', '/apps/shop/releases')).body.find((r: any) => r.current);
  assert.equal(current.version, before.version);
  assert.equal((await viaRouter(s, 'shop')).status, 200);
  await s.api('PATCH', '/apps/shop/config-vars', { RELEASE_EXIT_CODE: null });
  await waitFor('a succeeded release again', async () => (await s.api('GET', '/apps/shop/releases')).body.at(-1).status === 'succeeded');
});

test('rollback restores the slug and the config of the target release', async () => {
  const list = (await s.api('GET', '/apps/shop/releases')).body;
  const v3 = list.find((r: any) => r.version === 3);
  const rolled = await s.api('POST', '/apps/shop/releases', { release: v3.id });
  assert.equal(rolled.status, 201, rolled.text);
  assert.equal(rolled.body.description, 'Rollback to v3');
  await waitFor('rollback current', async () => (await s.api('GET', `/apps/shop/releases/${rolled.body.version}`)).body.current);
  const config = await s.api('GET', '/apps/shop/config-vars');
  assert.equal(config.body.GREETING, 'hola', 'config of v3 is back');
  await waitFor('dyno runs with v3 config', async () => (await viaRouter(s, 'shop', '/config/GREETING')).body === 'hola');
  const byVersion = await s.api('POST', '/apps/shop/releases', { release: '2' });
  assert.equal(byVersion.status, 201);
  const failedOne = list.find((r: any) => r.status === 'failed');
  const refused = await s.api('POST', '/apps/shop/releases', { release: failedOne.id });
  assert.equal(refused.status, 422);
});

test('a push to master deploys too, and HEAD is advertised as main', async () => {
  const dir = (await deployExample(s, 'legacy', 'static-site')).repo;
  const push = await git(dir, 'push', gitUrl(s, 'legacy'), 'main:master');
  assert.equal(push.code, 0, push.stderr);
  const res = await viaRouter(s, 'legacy');
  assert.equal(res.status, 200);
  const head = await git(dir, 'ls-remote', '--symref', gitUrl(s, 'legacy'), 'HEAD');
  assert.match(head.stdout, /ref: refs\/heads\/main\s+HEAD/);
});

test('a broken Procfile fails the build with the line to fix', async () => {
  const { push } = await deployExample(s, 'procfile-typo', 'broken-procfile');
  assert.notEqual(push.code, 0);
  assert.match(push.stderr, /Procfile line 2/);
  // A first push has no release to keep running.
  assert.match(push.stderr, /Build failed: nothing was deployed \(procfile-typo has no deployed code yet\)/);
  assert.doesNotMatch(push.stderr, /keeps running/);
  const releases = await s.api('GET', '/apps/procfile-typo/releases');
  assert.equal(releases.body.length, 1, 'only the initial release exists');
});

test('a config change swaps web dynos without dropping requests', async () => {
  let stop = false;
  const statuses: number[] = [];
  const load = (async () => {
    while (!stop) statuses.push((await viaRouter(s, 'shop', '/health')).status);
  })();
  const before = (await s.api('GET', '/apps/shop/releases')).body.at(-1).version;
  await s.api('PATCH', '/apps/shop/config-vars', { SWAP_CHECK: String(Date.now()) });
  await waitFor('the new release serving', async () => (await viaRouter(s, 'shop', '/config/HEROKU_RELEASE_VERSION')).body === `v${before + 1}`);
  // Keep the load on while the old dyno is stopped.
  await waitFor('the old dyno gone', async () => (await s.api('GET', '/apps/shop/dynos')).body.every((d: any) => d.release.version === before + 1));
  stop = true;
  await load;
  assert.ok(statuses.length > 5, `requests were made during the swap (${statuses.length})`);
  assert.deepEqual([...new Set(statuses)], [200]);
});
