// The slipway CLI against a real server: apps, config vars, releases, maintenance, app
// detection from git remotes, destroy, and error messages. No deploy needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, type Slipway } from '../helpers/slipway.js';
import { exec, git } from '../helpers/exec.js';

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
  };
  const run = (args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) =>
    exec(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? home, env: { ...env, ...opts.env } });
  return { home, env, run, login: () => run(['login', '--url', s.url, '--api-key', s.apiKey]) };
}

const versionOf = (text: string, verb: string): number => {
  const m = new RegExp(`${verb}.* and restarting \\S+\\.\\.\\. done, v(\\d+)`).exec(text);
  assert.ok(m, `no "${verb} ... done, vN" in: ${text}`);
  return Number(m[1]);
};

describe('slipway CLI: apps, config, releases', () => {
  let s: Slipway;
  let cli: ReturnType<typeof makeCli>;
  before(async () => {
    s = await startSlipway();
    cli = makeCli(s);
    const login = await cli.login();
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    await s?.destroy();
  });

  test('apps:create, apps, apps --json, apps:info', async () => {
    const created = await cli.run(['apps:create', 'cli-one']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Creating cli-one\.\.\. done/);
    assert.ok(created.stdout.includes(`${s.url}/cli-one.git`), created.stdout);

    const unnamed = await cli.run(['apps:create']);
    assert.equal(unnamed.code, 0, unnamed.stderr);
    assert.match(unnamed.stderr, /Creating app\.\.\. done, [a-z][a-z0-9-]+/);

    const list = await cli.run(['apps']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^cli-one$/m);
    const json = JSON.parse((await cli.run(['apps', '--json'])).stdout);
    assert.ok(Array.isArray(json) && json.some((a: { name: string }) => a.name === 'cli-one'));

    const info = await cli.run(['apps:info', '-a', 'cli-one']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^=== cli-one$/m);
    assert.match(info.stdout, /^Web URL: +\S+/m);
    assert.match(info.stdout, new RegExp(`^Git URL: +${s.url}/cli-one\\.git$`, 'm'));
    // Nothing deployed, nothing measured: those lines are left out rather than shown blank.
    assert.doesNotMatch(info.stdout, /Repo Size|Slug Size/);
    for (const line of info.stdout.split('\n').filter((l) => l.includes(':'))) assert.match(line, /: +\S/);
    const infoJson = JSON.parse((await cli.run(['apps:info', '-a', 'cli-one', '--json'])).stdout);
    assert.equal(infoJson.name, 'cli-one');

    const dup = await cli.run(['apps:create', 'cli-one']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^Error: \S/m);
  });

  test('unknown app and missing app give clear errors', async () => {
    const unknown = await cli.run(['apps:info', '-a', 'no-such-app']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Couldn't find that app/);
    const noApp = await cli.run(['config']);
    assert.equal(noApp.code, 1);
    assert.match(noApp.stderr, /No app specified\. Use -a APP/);
  });

  test('config:set / config:get / config / config:unset advance the release', async () => {
    assert.equal((await cli.run(['apps:create', 'cli-config'])).code, 0);
    const set = await cli.run(['config:set', 'FOO=bar', 'GREETING=hello world', '-a', 'cli-config']);
    assert.equal(set.code, 0, set.stderr);
    const v1 = versionOf(set.stderr, 'Setting FOO, GREETING');
    assert.match(set.stdout, /^FOO: +bar$/m);

    assert.equal((await cli.run(['config:get', 'FOO', '-a', 'cli-config'])).stdout, 'bar\n');
    assert.equal((await cli.run(['config:get', 'GREETING', '-a', 'cli-config'])).stdout, 'hello world\n');
    const all = await cli.run(['config', '-a', 'cli-config']);
    assert.match(all.stdout, /^=== cli-config Config Vars$/m);
    assert.match(all.stdout, /^GREETING: +hello world$/m);
    const shell = await cli.run(['config', '-s', '-a', 'cli-config']);
    assert.match(shell.stdout, /^GREETING='hello world'$/m);
    assert.equal(JSON.parse((await cli.run(['config', '--json', '-a', 'cli-config'])).stdout).FOO, 'bar');

    const set2 = await cli.run(['config:set', 'FOO=baz', '-a', 'cli-config']);
    const v2 = versionOf(set2.stderr, 'Setting FOO');
    assert.equal(v2, v1 + 1);

    const unset = await cli.run(['config:unset', 'FOO', '-a', 'cli-config']);
    assert.equal(unset.code, 0, unset.stderr);
    assert.equal(versionOf(unset.stderr, 'Unsetting FOO'), v2 + 1);
    assert.equal((await cli.run(['config:get', 'FOO', '-a', 'cli-config'])).stdout, '\n');

    const bad = await cli.run(['config:set', 'NOEQUALS', '-a', 'cli-config']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is not KEY=VALUE/);

    // Releases list the config changes, newest first.
    const releases = await cli.run(['releases', '-a', 'cli-config']);
    assert.equal(releases.code, 0, releases.stderr);
    assert.match(releases.stdout, new RegExp(`^=== cli-config Releases - Current: v${v2 + 1}$`, 'm'));
    const lines = releases.stdout.split('\n').filter((l) => /^v\d+ /.test(l));
    assert.equal(lines[0].split(' ')[0], `v${v2 + 1}`);
    const json = JSON.parse((await cli.run(['releases', '-n', '2', '--json', '-a', 'cli-config'])).stdout);
    assert.equal(json.length, 2);
    assert.deepEqual(json.map((r: { version: number }) => r.version), [v2 + 1, v2]);

    const info = await cli.run(['releases:info', `v${v2}`, '-a', 'cli-config']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`^=== Release v${v2}$`, 'm'));
    assert.match(info.stdout, /^FOO: +baz$/m);
  });

  test('maintenance on/off', async () => {
    assert.equal((await cli.run(['apps:create', 'cli-maint'])).code, 0);
    assert.equal((await cli.run(['maintenance', '-a', 'cli-maint'])).stdout.trim(), 'off');
    const on = await cli.run(['maintenance:on', '-a', 'cli-maint']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stderr, /Enabling maintenance mode for cli-maint\.\.\. done/);
    assert.equal((await cli.run(['maintenance', '-a', 'cli-maint'])).stdout.trim(), 'on');
    assert.equal((await cli.run(['maintenance:off', '-a', 'cli-maint'])).code, 0);
    assert.equal((await cli.run(['maintenance', '-a', 'cli-maint'])).stdout.trim(), 'off');
  });

  test('the app is detected from the git remote; -r picks one of several', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'slipway-cli-repo-'));
    await git(repo, 'init', '-q', '-b', 'main');
    assert.equal((await cli.run(['apps:create', 'cli-detect'], { cwd: repo })).code, 0);
    const remotes = await git(repo, 'remote', '-v');
    assert.match(remotes.stdout, new RegExp(`^slipway\\s+${s.url}/cli-detect\\.git \\(fetch\\)`, 'm'));
    const helper = await git(repo, 'config', '--get', `credential.${s.url}.helper`);
    assert.match(helper.stdout, /git:credentials/);

    assert.equal((await cli.run(['config:set', 'WHERE=detected'], { cwd: repo })).code, 0);
    assert.equal((await cli.run(['config:get', 'WHERE'], { cwd: repo })).stdout, 'detected\n');
    // SLIPWAY_APP and -a win over the remote.
    assert.equal((await cli.run(['config:get', 'WHERE'], { cwd: repo, env: { SLIPWAY_APP: 'cli-one' } })).stdout, '\n');

    const other = await cli.run(['apps:create', 'cli-detect-2', '--remote', 'staging'], { cwd: repo });
    assert.equal(other.code, 0, other.stderr);
    const ambiguous = await cli.run(['config'], { cwd: repo });
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /-r REMOTE/);
    assert.equal((await cli.run(['config:get', 'WHERE', '-r', 'slipway'], { cwd: repo })).stdout, 'detected\n');
    assert.equal((await cli.run(['config:get', 'WHERE', '-r', 'staging'], { cwd: repo })).stdout, '\n');

    // A remote on another server is not an app here.
    await git(repo, 'remote', 'add', 'github', 'https://github.com/example/cli-detect.git');
    assert.equal((await cli.run(['config:get', 'WHERE', '-r', 'slipway'], { cwd: repo })).code, 0);

    // git:remote re-creates a remote for an existing app.
    const gr = await cli.run(['git:remote', '-a', 'cli-one', '-r', 'one'], { cwd: repo });
    assert.equal(gr.code, 0, gr.stderr);
    assert.match((await git(repo, 'remote', 'get-url', 'one')).stdout, new RegExp(`${s.url}/cli-one\\.git`));

    // apps:destroy: refuses without --confirm when there is no terminal, then removes the remote.
    const refused = await cli.run(['apps:destroy', '-a', 'cli-detect-2'], { cwd: repo });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--confirm cli-detect-2/);
    const mismatch = await cli.run(['apps:destroy', '-a', 'cli-detect-2', '--confirm', 'cli-detect'], { cwd: repo });
    assert.equal(mismatch.code, 1);
    const destroyed = await cli.run(['apps:destroy', '-a', 'cli-detect-2', '--confirm', 'cli-detect-2'], { cwd: repo });
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.match(destroyed.stderr, /Destroying cli-detect-2\.\.\. done/);
    assert.doesNotMatch((await git(repo, 'remote')).stdout, /^staging$/m);
    const gone = await cli.run(['apps:info', '-a', 'cli-detect-2']);
    assert.equal(gone.code, 1);
    // With one Slipway remote left, detection works again.
    await git(repo, 'remote', 'remove', 'one');
    assert.equal((await cli.run(['config:get', 'WHERE'], { cwd: repo })).stdout, 'detected\n');
  });
});
