// The slipway CLI against a real server: login/whoami/logout, accounts, errors, help,
// the git credential helper.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, type Slipway } from '../helpers/slipway.js';
import { exec, git } from '../helpers/exec.js';

function makeCli(s: Slipway) {
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const configDir = join(home, 'config');
  const env: Record<string, string | undefined> = {
    HOME: home,
    SLIPWAY_CONFIG_DIR: configDir,
    SLIPWAY_URL: undefined,
    SLIPWAY_API_KEY: undefined,
    SLIPWAY_APP: undefined,
    XDG_CONFIG_HOME: undefined,
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const run = (args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}) =>
    exec(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? home, env: { ...env, ...opts.env }, input: opts.input });
  return { home, configDir, env, run, login: () => run(['login', '--url', s.url, '--api-key', s.apiKey]) };
}

describe('slipway CLI: auth', () => {
  let s: Slipway;
  before(async () => {
    s = await startSlipway();
  });
  after(async () => {
    await s?.destroy();
  });

  test('without credentials, commands say how to log in', async () => {
    const cli = makeCli(s);
    for (const args of [['auth:whoami'], ['apps'], ['config', '-a', 'whatever']]) {
      const r = await cli.run(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Not logged in\. Run: slipway login --url http:\/\/127\.0\.0\.1:5000/);
    }
  });

  test('login verifies the key, stores credentials 0600; whoami and logout', async () => {
    const cli = makeCli(s);
    const bad = await cli.run(['login', '--url', s.url, '--api-key', 'not-a-real-key']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rejected/);
    assert.ok(!bad.stderr.includes('not-a-real-key'), 'the key is not echoed');
    assert.ok(!existsSync(join(cli.configDir, 'credentials.json')), 'nothing saved for a bad key');

    const account = await s.api('GET', '/account');
    assert.equal(account.status, 200, account.text);
    const login = await cli.login();
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, new RegExp(`Logged in to .* as ${account.body.email}`));
    const file = join(cli.configDir, 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { url: s.url, apiKey: s.apiKey, email: account.body.email });

    const who = await cli.run(['auth:whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout.trim(), account.body.email);

    const logout = await cli.run(['logout']);
    assert.equal(logout.code, 0, logout.stderr);
    assert.ok(!existsSync(file));
    const after = await cli.run(['auth:whoami']);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /Not logged in/);
  });

  test('login without --api-key and without a terminal refuses with a hint', async () => {
    const cli = makeCli(s);
    const r = await cli.run(['login', '--url', s.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--api-key/);
  });

  test('SLIPWAY_URL / SLIPWAY_API_KEY override; a wrong key says what to do', async () => {
    const cli = makeCli(s);
    const ok = await cli.run(['auth:whoami'], { env: { SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey } });
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await cli.run(['apps'], { env: { SLIPWAY_URL: s.url, SLIPWAY_API_KEY: 'wrong-key' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SLIPWAY_API_KEY/);
    assert.match(wrong.stderr, /slipway login/);
    assert.ok(!wrong.stderr.includes('wrong-key'));
  });

  test('an unreachable server is reported clearly', async () => {
    const cli = makeCli(s);
    const r = await cli.run(['apps'], { env: { SLIPWAY_URL: 'http://127.0.0.1:1', SLIPWAY_API_KEY: 'k' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Could not reach Slipway at http:\/\/127\.0\.0\.1:1/);
  });

  test('accounts:create gives a key the new user can log in with', async () => {
    const admin = makeCli(s);
    assert.equal((await admin.login()).code, 0);
    const created = await admin.run(['accounts:create', 'dev@example.com']);
    assert.equal(created.code, 0, created.stderr);
    const key = /API key: (\S+)/.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    const dev = makeCli(s);
    const login = await dev.run(['login', '--url', s.url, '--api-key', key]);
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await dev.run(['whoami'])).stdout.trim(), 'dev@example.com');
    // A non-admin cannot create accounts; the server's message is shown.
    const denied = await dev.run(['accounts:create', 'other@example.com']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^Error: /m);
  });

  test('auth:token prints the key in use, the one a refused git push asks for', async () => {
    const cli = makeCli(s);
    const out = await cli.run(['auth:token']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /Not logged in/);
    assert.equal((await cli.login()).code, 0);
    const token = await cli.run(['auth:token']);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(token.stdout, `${s.apiKey}\n`);
    const fromEnv = await cli.run(['auth:token'], { env: { SLIPWAY_API_KEY: 'key-from-env' } });
    assert.equal(fromEnv.stdout, 'key-from-env\n');

    // A push with a wrong key names the command; the key it prints gets past authentication.
    const repo = mkdtempSync(join(tmpdir(), 'slipway-token-repo-'));
    await git(repo, 'init', '-q', '-b', 'main');
    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'empty');
    const target = (key: string) => `http://anyone:${key}@127.0.0.1:${s.port}/token-app.git`;
    const refused = await git(repo, 'push', target('not-a-key'), 'main');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Invalid credentials: .*`slipway auth:token` prints yours/);
    const authenticated = await git(repo, 'push', target(token.stdout.trim()), 'main');
    assert.notEqual(authenticated.code, 0);
    assert.match(authenticated.stderr, /Couldn't find that app/);
    assert.doesNotMatch(authenticated.stderr, /Invalid credentials/);
  });

  test('git:credentials answers only for the logged-in server', async () => {
    const cli = makeCli(s);
    assert.equal((await cli.login()).code, 0);
    const host = new URL(s.url).host;
    const yes = await cli.run(['git:credentials', 'get'], { input: `protocol=http\nhost=${host}\n\n` });
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /^username=slipway$/m);
    assert.match(yes.stdout, new RegExp(`^password=${s.apiKey}$`, 'm'));
    const no = await cli.run(['git:credentials', 'get'], { input: 'protocol=https\nhost=github.com\n\n' });
    assert.equal(no.code, 0);
    assert.equal(no.stdout, '');
    const store = await cli.run(['git:credentials', 'store'], { input: `protocol=http\nhost=${host}\nusername=x\npassword=y\n\n` });
    assert.equal(store.code, 0);
  });

  test('help, --help and version', async () => {
    const cli = makeCli(s);
    const help = await cli.run(['help']);
    assert.equal(help.code, 0);
    for (const name of ['login', 'apps:create', 'config:set', 'ps:scale', 'rollback', 'logs', 'run', 'deploy']) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const one = await cli.run(['config:set', '--help']);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /Usage: slipway config:set KEY=VALUE\.\.\./);
    assert.equal((await cli.run(['help', 'ps:scale'])).code, 0);
    const version = await cli.run(['--version']);
    assert.match(version.stdout, /^slipway\/\d+\.\d+\.\d+/);
    const unknown = await cli.run(['apps:explode']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not a slipway command/);
    const badFlag = await cli.run(['apps', '--bogus']);
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /Unknown option '--bogus'/);
  });
});
