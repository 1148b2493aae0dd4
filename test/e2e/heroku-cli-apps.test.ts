/**
 * The official heroku CLI (npm heroku@11.10.0, unchanged) against one Slipway server: auth,
 * apps, git over HTTPS with the CLI's credential helper, config, releases, rollback,
 * maintenance, features, domains (served by the router), git:remote/git:clone, destroy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';
import { exampleRepo, type ExecResult } from '../helpers/exec.js';
import { viaRouter, type RouterResponse } from '../helpers/flow.js';

const APP = 'cli-shop';

let s: Slipway;
let heroku: HerokuCli;
let repo: string;

before(async () => {
  s = await startSlipway();
  heroku = await herokuCli(s);
  repo = await exampleRepo('node-app');
});
after(async () => {
  await s?.destroy();
});

/** The CLI's output with its `›` error gutters and line wrapping removed. */
const flat = (text: string) => text.replace(/[›▸]/g, ' ').replace(/\s+/g, ' ');

async function ok(args: string[], options: { cwd?: string } = {}): Promise<ExecResult> {
  const res = await heroku.run(args, options);
  assert.equal(res.code, 0, `heroku ${args.join(' ')} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

async function fails(args: string[], code = 2): Promise<string> {
  const res = await heroku.run(args);
  assert.equal(res.code, code, `heroku ${args.join(' ')} should fail with ${code}:\n${res.stdout}\n${res.stderr}`);
  return flat(res.stdout + res.stderr);
}

/** A request through the router for an arbitrary Host header (custom domains). */
function viaHost(host: string, path = '/'): Promise<RouterResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function latestRelease(app = APP): Promise<any> {
  const res = await s.api('GET', `/apps/${app}/releases`, undefined, { Range: 'version ..; max=1, order=desc' });
  return res.body[0];
}

async function settled(app = APP): Promise<any> {
  return waitFor('the latest release to settle', async () => {
    const latest = await latestRelease(app);
    return latest && latest.status !== 'pending' ? latest : undefined;
  }, 120_000, 250);
}

test('auth:whoami, and a wrong key is refused with a message', async () => {
  const whoami = await ok(['auth:whoami']);
  assert.match(whoami.stdout, /admin@slipway\.local/);
  const wrong = await heroku.run(['apps'], { env: { HEROKU_API_KEY: 'not-a-valid-key' } });
  assert.notEqual(wrong.code, 0);
  assert.match(flat(wrong.stderr), /token provided to HEROKU_API_KEY is invalid/);
});

test('apps:create in a git repository adds the https remote; git push heroku main deploys through the credential helper', async () => {
  const created = await ok(['apps:create', APP], { cwd: repo });
  assert.match(created.stdout, new RegExp(`http://${APP}\\.localhost:${s.port}/ \\| https://127\\.0\\.0\\.1:${s.httpsPort}/${APP}\\.git`));
  const remotes = await heroku.git(repo, 'remote', '-v');
  assert.match(remotes.stdout, new RegExp(`heroku\\s+https://127\\.0\\.0\\.1:${s.httpsPort}/${APP}\\.git \\(push\\)`));
  // The CLI's init hook registered itself as git's credential helper for the TLS git host.
  assert.match(readFileSync(join(heroku.home, '.gitconfig'), 'utf8'), /helper = !heroku git:credentials/);

  const push = await heroku.git(repo, 'push', 'heroku', 'main');
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stderr, /deployed to Slipway/);
  const home = await waitFor('the app to answer through the router', async () => {
    const res = await viaRouter(s, APP);
    return res.status === 200 ? res : undefined;
  }, 60_000, 250);
  assert.match(home.body, /node-app/);
  const head = await heroku.git(repo, 'ls-remote', '--symref', 'heroku', 'HEAD');
  assert.match(head.stdout, /ref: refs\/heads\/main\s+HEAD/);

  const list = await ok(['apps']);
  assert.match(list.stdout, new RegExp(`${APP} \\(local\\)`));
  // Inside the repository the app comes from the git remote: no --app needed.
  const info = await ok(['apps:info'], { cwd: repo });
  assert.match(info.stdout, new RegExp(`=== ${APP}`));
  assert.match(info.stdout, /Owner:\s+admin@slipway\.local/);
  assert.match(info.stdout, new RegExp(`Git URL:\\s+https://127\\.0\\.0\\.1:${s.httpsPort}/${APP}\\.git`));
  assert.match(info.stdout, /Dynos:\s+web: 1/);
});

test('config, config:set, config:get, config:unset make releases the dynos run', async () => {
  const set = await ok(['config:set', 'GREETING=hello world', 'OTHER=1', '-a', APP]);
  const setRelease = await latestRelease();
  assert.match(set.stderr, new RegExp(`Setting GREETING, OTHER and restarting ${APP}\\.\\.\\. done, v${setRelease.version}`));
  assert.match(set.stdout, /GREETING: hello world/);
  assert.equal((await s.api('GET', `/apps/${APP}/config-vars`)).body.GREETING, 'hello world');

  assert.equal((await ok(['config:get', 'GREETING', '-a', APP])).stdout.trim(), 'hello world');
  const all = await ok(['config', '-a', APP]);
  assert.match(all.stdout, /GREETING:\s+hello world/);
  assert.match(all.stdout, /OTHER:\s+1/);

  const unset = await ok(['config:unset', 'OTHER', '-a', APP]);
  const unsetRelease = await latestRelease();
  assert.equal(unsetRelease.version, setRelease.version + 1);
  assert.match(unset.stderr, new RegExp(`Unsetting OTHER and restarting ${APP}\\.\\.\\. done, v${unsetRelease.version}`));
  assert.equal((await s.api('GET', `/apps/${APP}/config-vars`)).body.OTHER, undefined);

  await settled();
  const served = await waitFor('the web dyno to run with the new config', async () => {
    const res = await viaRouter(s, APP, '/config/GREETING');
    return res.status === 200 && res.body === 'hello world' ? res : undefined;
  }, 60_000, 250);
  assert.equal(served.body, 'hello world');
});

test('releases, releases:info, releases:output, rollback', async () => {
  const latest = await settled();
  const releases = await ok(['releases', '-a', APP]);
  assert.match(releases.stdout, new RegExp(`=== ${APP} Releases - Current: v${latest.version}`));
  assert.match(releases.stdout, /v1\s+Initial release/);
  assert.match(releases.stdout, /Set GREETING, OTHER config vars/);

  const info = await ok(['releases:info', '-a', APP]);
  assert.match(info.stdout, new RegExp(`=== Release v${latest.version}`));
  assert.match(info.stdout, /Change:\s+Remove OTHER config vars/);
  assert.match(info.stdout, /GREETING:\s+hello world/);
  const v2 = await ok(['releases:info', 'v2', '-a', APP]);
  assert.match(v2.stdout, /=== Release v2/);
  assert.match(v2.stdout, /Change:\s+Deploy /);

  // The deploy ran the Procfile's release command; its output is the release output.
  const output = await ok(['releases:output', 'v2', '-a', APP]);
  assert.match(output.stdout, /release phase ran for v2/);

  // Without an argument, rollback goes to the release before the current one.
  const rollback = await ok(['rollback', '-a', APP]);
  const rolled = await settled();
  assert.equal(rolled.version, latest.version + 1);
  assert.match(rollback.stderr, new RegExp(`Rolling back ${APP} to v${latest.version - 1}\\.\\.\\. done, v${rolled.version}`));
  assert.match(rolled.description, new RegExp(`Rollback to v${latest.version - 1}`));
  assert.equal((await s.api('GET', `/apps/${APP}/config-vars`)).body.OTHER, '1', 'the rollback restored the config of the target release');
  const rolledOutput = await ok(['releases:output', '-a', APP]);
  assert.match(rolledOutput.stdout, new RegExp(`release phase ran for v${rolled.version}`));
});

test('maintenance:on and :off switch the router between the app and a 503 page', async () => {
  await ok(['maintenance:on', '-a', APP]);
  assert.equal((await ok(['maintenance', '-a', APP])).stdout.trim(), 'on');
  const page = await waitFor('the maintenance page', async () => {
    const res = await viaRouter(s, APP);
    return res.status === 503 ? res : undefined;
  }, 10_000, 100);
  assert.match(page.body, /maintenance/i);
  await ok(['maintenance:off', '-a', APP]);
  await waitFor('the app back', async () => (await viaRouter(s, APP)).status === 200, 10_000, 100);
});

test('features lists the app features', async () => {
  const features = await ok(['features', '-a', APP]);
  assert.match(features.stdout, /\[\+\] preboot/);
  assert.match(features.stdout, /runtime-dyno-metadata/);
});

test('domains, domains:add and domains:remove; the router serves a custom domain', async () => {
  const initial = await ok(['domains', '-a', APP]);
  assert.match(initial.stdout, new RegExp(`=== ${APP} Heroku Domain\\s+${APP}\\.localhost`));

  const added = await ok(['domains:add', 'www.cli-shop.test', '-a', APP]);
  assert.match(flat(added.stdout), new RegExp(`point to the DNS Target ${APP}\\.localhost`));
  const listed = await ok(['domains', '-a', APP]);
  assert.match(listed.stdout, /=== .* Custom Domains/);
  assert.match(listed.stdout, new RegExp(`www\\.cli-shop\\.test\\s+CNAME\\s+${APP}\\.localhost`));
  const stored = (await s.api('GET', `/apps/${APP}/domains/www.cli-shop.test`)).body;
  assert.equal(stored.kind, 'custom');
  assert.equal(stored.status, 'none');

  const served = await waitFor('the router to serve the custom domain', async () => {
    const res = await viaHost('www.cli-shop.test');
    return res.status === 200 ? res : undefined;
  }, 10_000, 100);
  assert.match(served.body, /node-app/);
  assert.match((await viaHost(`WWW.CLI-SHOP.TEST:${s.port}`)).body, /node-app/, 'Host matching ignores case and port');

  assert.match(await fails(['domains:add', 'www.cli-shop.test', '-a', APP]), new RegExp(`already in use by the app ${APP}`));
  assert.match(await fails(['domains:add', 'not a host', '-a', APP]), /is not a valid hostname/);
  assert.match(await fails(['domains:add', 'evil.localhost', '-a', APP]), /reserves for app names/);
  assert.match(await fails(['domains:remove', `${APP}.localhost`, '-a', APP]), /built-in domain .* cannot be removed/);

  await ok(['domains:remove', 'www.cli-shop.test', '-a', APP]);
  assert.equal((await s.api('GET', `/apps/${APP}/domains/www.cli-shop.test`)).status, 404);
  await waitFor('the router to forget the custom domain', async () => !/node-app/.test((await viaHost('www.cli-shop.test')).body), 10_000, 100);
  assert.doesNotMatch((await ok(['domains', '-a', APP])).stdout, /cli-shop\.test/);
});

test('an endpoint Slipway does not support is named in the error', async () => {
  assert.match(await fails(['drains', '-a', APP]), /Slipway does not support GET \/apps\/cli-shop\/log-drains/);
});

test('git:remote and git:clone; pushes to master deploy too', async () => {
  const other = await exampleRepo('node-app');
  await ok(['git:remote', '-a', APP], { cwd: other });
  assert.match((await heroku.git(other, 'remote', 'get-url', 'heroku')).stdout.trim(), new RegExp(`^https://127\\.0\\.0\\.1:${s.httpsPort}/${APP}\\.git$`));

  const clone = await ok(['git:clone', '-a', APP, 'cloned'], { cwd: heroku.home });
  const dir = join(heroku.home, 'cloned');
  assert.ok(existsSync(join(dir, 'Procfile')), `git:clone checked out the app:\n${clone.stderr}`);
  assert.match((await heroku.git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).stdout.trim(), /^main$/);

  const before = await settled();
  appendFileSync(join(dir, 'server.js'), '\n// deployed from a clone to master\n');
  await heroku.git(dir, 'commit', '-qam', 'change from the clone');
  const push = await heroku.git(dir, 'push', 'heroku', 'HEAD:master');
  assert.equal(push.code, 0, push.stderr);
  const after = await settled();
  assert.ok(after.version > before.version, 'pushing master made a release');
  assert.match(after.description, /^Deploy /);
});

test('apps:destroy removes the app and its git remote', async () => {
  await ok(['apps:create', 'cli-doomed']);
  const dir = await exampleRepo('node-app');
  await ok(['git:remote', '-a', 'cli-doomed'], { cwd: dir });
  const destroyed = await ok(['apps:destroy', 'cli-doomed', '--confirm', 'cli-doomed'], { cwd: dir });
  assert.match(destroyed.stderr, /Destroying cli-doomed/);
  assert.equal((await s.api('GET', '/apps/cli-doomed')).status, 404);
  assert.doesNotMatch((await heroku.git(dir, 'remote')).stdout, /heroku/);
  assert.match(await fails(['apps:info', '-a', 'cli-doomed']), /Couldn't find that app/);
});
