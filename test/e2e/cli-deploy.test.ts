// The slipway CLI with a deployed app: apps:create in a repo + `git push slipway main` with no
// password prompt, ps, ps:scale, run, logs, releases/rollback, restart, and `slipway deploy`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, EXAMPLES, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, exampleRepo } from '../helpers/exec.js';
import { viaRouter } from '../helpers/flow.js';

function makeCli(s: Slipway) {
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const env: Record<string, string | undefined> = {
    HOME: home,
    SLIPWAY_CONFIG_DIR: join(home, 'config'),
    SLIPWAY_URL: undefined,
    SLIPWAY_API_KEY: undefined,
    SLIPWAY_APP: undefined,
    XDG_CONFIG_HOME: undefined,
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const run = (args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}) =>
    exec(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? home, env: { ...env, ...opts.env }, input: opts.input });
  const gitIn = (cwd: string, ...args: string[]) => exec('git', args, { cwd, env });
  return { home, env, run, gitIn, login: () => run(['login', '--url', s.url, '--api-key', s.apiKey]) };
}

describe('slipway CLI: deploy and run', () => {
  let s: Slipway;
  let cli: ReturnType<typeof makeCli>;
  let repo: string;
  const app = 'cli-node';

  before(async () => {
    s = await startSlipway();
    cli = makeCli(s);
    const login = await cli.login();
    assert.equal(login.code, 0, login.stderr);
    repo = await exampleRepo('node-app');
  });
  after(async () => {
    await s?.destroy();
  });

  test('apps:create in a repo, then git push slipway main works without a password', async () => {
    const created = await cli.run(['apps:create', app], { cwd: repo });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Git remote slipway added/);
    const push = await cli.gitIn(repo, 'push', 'slipway', 'main');
    assert.equal(push.code, 0, `git push failed:\n${push.stderr}\n--- server ---\n${s.output().slice(-3000)}`);
    await waitFor(
      'web.1 up',
      async () => {
        const dynos = await s.api('GET', `/apps/${app}/dynos`);
        return Array.isArray(dynos.body) && dynos.body.some((d: { name: string; state: string }) => d.name === 'web.1' && d.state === 'up');
      },
      60_000,
      250,
    );
  });

  test('ps groups dynos Heroku-style; ps --json', async () => {
    const ps = await cli.run(['ps'], { cwd: repo });
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^=== web \(Basic\): node server\.js \(1\)$/m);
    assert.match(ps.stdout, /^web\.1: up \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d [+-]\d{4} \(~ \d+[smhd] ago\)$/m);
    const json = JSON.parse((await cli.run(['ps', '--json', '-a', app])).stdout);
    assert.ok(json.some((d: { name: string }) => d.name === 'web.1'));
    const onlyWorker = await cli.run(['ps', 'worker', '-a', app]);
    assert.doesNotMatch(onlyWorker.stdout, /web\.1/);
  });

  test('ps:scale: show, absolute, relative, and with a size', async () => {
    const show = await cli.run(['ps:scale', '-a', app]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /web=1:Basic/);
    assert.match(show.stdout, /worker=0:Basic/);

    const up = await cli.run(['ps:scale', 'worker=1', '-a', app]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /done, now running worker at 1:Basic/);
    const plus = await cli.run(['ps:scale', 'worker+1', '-a', app]);
    assert.match(plus.stderr, /now running worker at 2:Basic/);
    const minus = await cli.run(['ps:scale', 'worker-2', 'web=1:Standard-2X', '-a', app]);
    assert.equal(minus.code, 0, minus.stderr);
    assert.match(minus.stderr, /worker at 0:Basic/);
    assert.match(minus.stderr, /web at 1:Standard-2X/);
    const formation = await s.api('GET', `/apps/${app}/formation`);
    const byType = Object.fromEntries(formation.body.map((f: { type: string; quantity: number; size: string }) => [f.type, f]));
    assert.equal(byType.worker.quantity, 0);
    assert.equal(byType.web.size, 'Standard-2X');

    const bad = await cli.run(['ps:scale', 'web=lots', '-a', app]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /TYPE=N/);
    // An unknown process type points at the process types, not at the app list.
    const unknown = await cli.run(['ps:scale', 'nosuch=1', '-a', app]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Couldn't find that process type \(nosuch\)\. This app has: web, worker\./);
    assert.match(unknown.stderr, /slipway ps:scale \(no arguments\).*slipway ps$/m);
    assert.doesNotMatch(unknown.stderr, /slipway apps/);
    await cli.run(['ps:scale', 'web=1:Basic', '-a', app]);
  });

  test('run echoes output and returns the exit status', async () => {
    const hi = await cli.run(['run', 'echo', 'hi'], { cwd: repo });
    assert.equal(hi.code, 0, `${hi.stdout}\n${hi.stderr}`);
    assert.match(hi.stdout, /^hi\r?$/m);
    assert.doesNotMatch(hi.stdout, /slipway-command-exit-status/);
    assert.match(hi.stderr, /Running `echo hi` on cli-node\.\.\. up, run\.\d+/);

    const three = await cli.run(['run', 'exit 3', '-a', app]);
    assert.equal(three.code, 3, `${three.stdout}\n${three.stderr}`);

    const env = await cli.run(['run', '-e', 'WHO=tester', 'echo "hello $WHO"', '-a', app]);
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout, /hello tester/);

    const stdin = await cli.run(['run', 'cat', '-a', app], { input: 'from stdin\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.match(stdin.stdout, /from stdin/);

    const detached = await cli.run(['run:detached', 'echo', 'in the background', '-a', app]);
    assert.equal(detached.code, 0, detached.stderr);
    assert.match(detached.stdout, /^run\.\d+$/m);
  });

  test('apps:info shows what it knows and leaves out what it does not', async () => {
    const info = await cli.run(['apps:info', '-a', app]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^Slug Size: +\d/m);
    assert.match(info.stdout, /^Dynos: +web: 1$/m);
    // Slipway does not measure repositories (repo_size is null): no blank line for it.
    assert.doesNotMatch(info.stdout, /Repo Size/);
    for (const line of info.stdout.split('\n').filter((l) => l.includes(':'))) assert.match(line, /: +\S/);
  });

  test('logs show app lines; filters by process type', async () => {
    const found = await waitFor(
      'web log lines',
      async () => {
        const r = await cli.run(['logs', '-n', '200', '-a', app]);
        return r.code === 0 && /app\[web\.1\]:/.test(r.stdout) ? r : undefined;
      },
      30_000,
      500,
    );
    assert.match(found.stdout, /^\S+ app\[web\.1\]: /m);
    const web = await cli.run(['logs', '-p', 'web', '-n', '50', '-a', app]);
    assert.equal(web.code, 0, web.stderr);
    for (const line of web.stdout.split('\n').filter(Boolean)) assert.match(line, /\[web(\.\d+)?\]:/);
    const both = await cli.run(['logs', '-p', 'web', '-d', 'web.1', '-a', app]);
    assert.equal(both.code, 1);
  });

  test('router lines are slipway[router]: -d router or -s slipway finds them, -p web and -s router do not', async () => {
    const path = `/router-line-${Date.now()}`;
    assert.equal((await viaRouter(s, app, path)).status, 404);
    const router = await waitFor(
      'the router line',
      async () => {
        const r = await cli.run(['logs', '-d', 'router', '-n', '5', '-a', app]);
        return r.code === 0 && r.stdout.includes(path) ? r : undefined;
      },
      30_000,
      250,
    );
    const lines = router.stdout.split('\n').filter(Boolean);
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 slipway\[router\]: at=/);
    assert.match(router.stdout, new RegExp(`slipway\\[router\\]: at=info method=GET path="${path}" host=cli-node\\.localhost\\S* .*dyno=web\\.1 .*status=404 `));
    for (const source of ['slipway', 'heroku']) {
      const bySource = await cli.run(['logs', '-s', source, '-d', 'router', '-n', '5', '-a', app]);
      assert.equal(bySource.code, 0, bySource.stderr);
      assert.ok(bySource.stdout.includes(path), `-s ${source}: ${bySource.stdout}`);
    }
    const web = await cli.run(['logs', '-p', 'web', '-n', '200', '-a', app]);
    assert.doesNotMatch(web.stdout, /\[router\]/);
    const wrong = await cli.run(['logs', '-s', 'router', '-a', app]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /"router" is not a log source.*-d router/);
  });

  test('releases, rollback to the previous release, releases:output', async () => {
    const set = await cli.run(['config:set', 'MARK=one', '-a', app]);
    assert.equal(set.code, 0, set.stderr);
    const before = JSON.parse((await cli.run(['releases', '--json', '-n', '3', '-a', app])).stdout);
    const current = before[0].version;
    const rollback = await cli.run(['rollback', '-a', app]);
    assert.equal(rollback.code, 0, rollback.stderr);
    const m = /Rolling back cli-node to v(\d+)\.\.\. done, v(\d+)/.exec(rollback.stderr);
    assert.ok(m, rollback.stderr);
    assert.equal(Number(m[2]), current + 1);
    assert.equal((await cli.run(['config:get', 'MARK', '-a', app])).stdout, '\n');

    const byVersion = await cli.run(['rollback', `v${current}`, '-a', app]);
    assert.equal(byVersion.code, 0, byVersion.stderr);
    assert.match(byVersion.stderr, new RegExp(`Rolling back cli-node to v${current}\\.\\.\\. done, v${current + 2}`));
    assert.equal((await cli.run(['config:get', 'MARK', '-a', app])).stdout, 'one\n');

    const list = await cli.run(['releases', '-a', app]);
    assert.match(list.stdout, new RegExp(`^v${current + 2} `, 'm'));
    const output = await cli.run(['releases:output', 'v1', '-a', app]);
    assert.equal(output.code, 0, output.stderr);
    const bad = await cli.run(['rollback', 'vX', '-a', app]);
    assert.equal(bad.code, 1);
  });

  test('rollback to a release without a build is refused and changes nothing', async () => {
    const before = (await s.api('GET', `/apps/${app}/releases`)).body;
    const refused = await cli.run(['rollback', 'v1', '-a', app]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Rolling back cli-node to v1\.\.\. !/);
    assert.match(refused.stderr, /Error: v1 \(Initial release\) has no build: .*would stop every dyno.*`slipway releases`/);
    const after = (await s.api('GET', `/apps/${app}/releases`)).body;
    assert.equal(after.length, before.length, 'no release was made');
    assert.equal(after.find((r: { current: boolean }) => r.current).id, before.find((r: { current: boolean }) => r.current).id);
    assert.equal((await viaRouter(s, app)).status, 200);

    const v1 = await cli.run(['releases:info', 'v1', '-a', app]);
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /^Eligible for Rollback\?: +No$/m);
    assert.doesNotMatch(v1.stdout, /Add-ons/, 'no blank Add-ons line');
    assert.match((await cli.run(['releases:info', 'v2', '-a', app])).stdout, /^Eligible for Rollback\?: +Yes$/m);
  });

  test('config:set whose release phase fails exits non-zero and says what still runs', async () => {
    const current = (await s.api('GET', `/apps/${app}/releases`)).body.find((r: { current: boolean }) => r.current).version;
    const set = await cli.run(['config:set', 'RELEASE_EXIT_CODE=1', '-a', app]);
    assert.equal(set.code, 1, `${set.stdout}\n${set.stderr}`);
    const failed = Number(/Setting RELEASE_EXIT_CODE and restarting cli-node\.\.\. done, v(\d+)/.exec(set.stderr)?.[1]);
    assert.ok(failed > current, set.stderr);
    // The release command's output, then the verdict and what to do.
    assert.match(set.stdout, new RegExp(`release phase ran for v${failed}`));
    assert.match(set.stderr, new RegExp(`^Error: Release v${failed} failed: its release command did not succeed`, 'm'));
    assert.match(set.stderr, new RegExp(`^v${current} is still the current release; the dynos keep running it\\.$`, 'm'));
    assert.match(set.stderr, new RegExp(`slipway rollback v${current} -a cli-node`));
    assert.match(set.stderr, new RegExp(`^See the release command's output with: slipway releases:output v${failed} -a cli-node$`, 'm'));

    const list = await cli.run(['releases', '-a', app]);
    assert.match(list.stdout, new RegExp(`Current: v${current}$`, 'm'));
    assert.match(list.stdout, new RegExp(`^v${failed} +Set RELEASE_EXIT_CODE config vars release command failed`, 'm'));
    // As on Heroku the var stays in the app's config; the running dynos never got it.
    assert.equal((await cli.run(['config:get', 'RELEASE_EXIT_CODE', '-a', app])).stdout, '1\n');
    const config = await cli.run(['config', '-a', app]);
    assert.match(config.stdout, /^RELEASE_EXIT_CODE: +1$/m);
    assert.match(config.stderr, new RegExp(`^Warning: The newest release, v${failed}, failed: .* the dynos run v${current} `, 'm'));
    assert.equal((await viaRouter(s, app, '/config/HEROKU_RELEASE_VERSION')).body, `v${current}`);
    assert.equal((await viaRouter(s, app, '/config/RELEASE_EXIT_CODE')).status, 404);

    const unset = await cli.run(['config:unset', 'RELEASE_EXIT_CODE', '-a', app]);
    assert.equal(unset.code, 0, unset.stderr);
    assert.match(unset.stderr, new RegExp(`done, v${failed + 1}\n[^]*Release v${failed + 1} is now current\\.`));
  });

  test('ps:restart (dyno, type, all) and ps:stop', async () => {
    for (const args of [['web.1'], ['web'], []]) {
      const r = await cli.run(['ps:restart', ...args, '-a', app]);
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
      assert.match(r.stderr, /Restarting .*\.\.\. done/);
    }
    const stop = await cli.run(['ps:stop', 'web.1', '-a', app]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, /Stopping dyno web\.1 on cli-node\.\.\. done/);
    // worker is scaled to 0: the server's message is shown.
    const none = await cli.run(['ps:stop', 'worker', '-a', app]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^Error: \S/m);
  });

  test('deploy builds the working tree through the build API', async () => {
    writeFileSync(join(repo, 'DEPLOYED.txt'), 'via slipway deploy\n');
    await cli.gitIn(repo, 'add', 'DEPLOYED.txt');
    await cli.gitIn(repo, 'commit', '-q', '-m', 'deploy marker');
    const before = JSON.parse((await cli.run(['releases', '--json', '-n', '1', '-a', app])).stdout)[0].version;
    const deploy = await cli.run(['deploy'], { cwd: repo });
    assert.equal(deploy.code, 0, `${deploy.stdout}\n${deploy.stderr}`);
    assert.match(deploy.stderr, /Uploading source\.\.\. done/);
    assert.match(deploy.stderr, new RegExp(`Released v${before + 1} of cli-node`));
    // The build recorded the commit it was made from.
    const head = (await cli.gitIn(repo, 'rev-parse', 'HEAD')).stdout.trim();
    const builds = await s.api('GET', `/apps/${app}/builds`);
    assert.ok(builds.body.some((b: { source_blob?: { version?: string } }) => b.source_blob?.version === head), builds.text);
  });

  test('a failing build makes deploy exit non-zero', async () => {
    // Not a git repository: deploy packs everything but .git and node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cli-broken-'));
    cpSync(join(EXAMPLES, 'failing-build'), dir, { recursive: true });
    const r = await cli.run(['deploy', '-a', app, '--dir', dir]);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /Build failed/);
  });
});
