// The CI project flow from a user's shell: projects:create in a work tree adds the slipway-ci
// remote and prints a push command that works as printed (over HTTP, and over HTTPS with
// Slipway's own CA); projects:remote / git:remote -p later; app commands leave the project's
// remote alone; the printed pipeline URL with and without a key; ci:cancel's final state;
// ci:job:log --follow's exit status for a canceled job; ci:vars' Type and Expand columns.
// A real server, the real CLI with its own HOME, real git pushes and real jobs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec, type ExecResult } from '../helpers/exec.js';

const PIPELINE_FILE = 'build:\n  script: [echo built]\n';

/** A CLI user with their own HOME and config directory; git runs in the same environment (its credential helper is the CLI). */
function makeUser(extra: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const env: Record<string, string | undefined> = {
    HOME: home,
    SLIPWAY_CONFIG_DIR: join(home, 'config'),
    SLIPWAY_URL: undefined,
    SLIPWAY_API_KEY: undefined,
    SLIPWAY_APP: undefined,
    SLIPWAY_PROJECT: undefined,
    XDG_CONFIG_HOME: undefined,
    GIT_SSL_CAINFO: undefined,
    GIT_CONFIG_NOSYSTEM: '1',
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    ...extra,
  };
  const run = (args: string[], cwd = home) => exec(process.execPath, [CLI, ...args], { cwd, env });
  const gitIn = (cwd: string, ...args: string[]) => exec('git', args, { cwd, env });
  /** A work tree on main with one commit that has a pipeline. */
  const workTree = async (): Promise<string> => {
    const dir = mkdtempSync(join(home, 'repo-'));
    assert.equal((await gitIn(dir, 'init', '-q', '-b', 'main')).code, 0);
    writeFileSync(join(dir, '.gitlab-ci.yml'), PIPELINE_FILE);
    await gitIn(dir, 'add', '-A');
    assert.equal((await gitIn(dir, 'commit', '-q', '-m', 'pipeline')).code, 0);
    return dir;
  };
  /** Runs the command after "Push to run pipelines: " exactly as printed (words split on spaces). */
  const pushAsPrinted = async (stdout: string, cwd: string): Promise<ExecResult> => {
    const m = /^Push to run pipelines: (git push .+)$/m.exec(stdout);
    assert.ok(m, `no push command in:\n${stdout}`);
    const [cmd, ...args] = m[1].split(' ');
    return exec(cmd, args, { cwd, env });
  };
  return { home, env, run, gitIn, workTree, pushAsPrinted };
}

const ok = (r: ExecResult, what: string) => assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);

function pipelineLine(push: ExecResult): { number: number; url: string } {
  const m = /remote: Pipeline #(\d+): (\S+)/.exec(push.stderr);
  assert.ok(m, `no "Pipeline #N: <url>" line in:\n${push.stderr}`);
  return { number: Number(m[1]), url: m[2] };
}

describe('CI projects from the CLI', () => {
  let s: Slipway;
  let user: ReturnType<typeof makeUser>;

  before(async () => {
    s = await startSlipway();
    user = makeUser();
    ok(await user.run(['login', '--url', s.url, '--api-key', s.apiKey]), 'login');
  });
  after(async () => {
    await s?.destroy();
  });

  test('projects:create in a work tree adds slipway-ci; the printed push works as printed; the pipeline URL asks for a key', async () => {
    const repo = await user.workTree();
    const created = await user.run(['projects:create', 'cli-shop'], repo);
    ok(created, 'projects:create');
    assert.match(created.stdout, /^Created CI project cli-shop$/m);
    assert.match(created.stderr, new RegExp(`^Git remote slipway-ci added: ${s.url}/cli-shop\\.git$`, 'm'));
    assert.match(created.stdout, /^Push to run pipelines: git push slipway-ci main$/m);
    assert.equal((await user.gitIn(repo, 'config', 'remote.slipway-ci.slipwayproject')).stdout.trim(), 'cli-shop');

    const push = await user.pushAsPrinted(created.stdout, repo);
    ok(push, 'the printed git push');
    const { number, url } = pipelineLine(push);
    assert.equal(url, `${s.url}/projects/cli-shop/pipelines/${number}`);

    // The URL is the API resource: without a key a browser is asked for one, and told the CLI command.
    const anonymous = await fetch(url);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="Slipway"');
    const refusal = (await anonymous.json()) as { id: string; message: string };
    assert.equal(refusal.id, 'unauthorized');
    assert.match(refusal.message, /API resource of pipeline #\d+ of cli-shop/);
    assert.ok(refusal.message.includes(`slipway ci:pipeline ${number} -p cli-shop`), refusal.message);
    const withKey = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`anyone:${s.apiKey}`).toString('base64')}` } });
    assert.equal(withKey.status, 200);
    const pipeline = (await withKey.json()) as { id: number; jobs: Array<{ id: number; web_url: string }> };
    assert.equal(pipeline.id, number);
    const jobPage = await fetch(pipeline.jobs[0].web_url);
    assert.equal(jobPage.status, 401);
    assert.ok(((await jobPage.json()) as { message: string }).message.includes(`slipway ci:job:log ${pipeline.jobs[0].id} -p cli-shop --follow`));

    // `slipway projects` shows the URL the remote uses.
    const listed = await user.run(['projects']);
    ok(listed, 'projects');
    assert.match(listed.stdout, new RegExp(`cli-shop\\s+${s.url}/cli-shop\\.git`));
  });

  test('an existing remote of that name is left alone; the printed URL push still works; outside a repository it says what to do', async () => {
    const repo = await user.workTree();
    ok(await user.gitIn(repo, 'remote', 'add', 'slipway-ci', 'https://gitlab.example.com/acme/shop.git'), 'git remote add');
    const created = await user.run(['projects:create', 'cli-taken'], repo);
    ok(created, 'projects:create');
    assert.match(created.stderr, /A git remote named slipway-ci already exists \(https:\/\/gitlab\.example\.com\/acme\/shop\.git\); left it alone\./);
    assert.match(created.stderr, /slipway projects:remote -p cli-taken -r NAME/);
    assert.equal((await user.gitIn(repo, 'remote', 'get-url', 'slipway-ci')).stdout.trim(), 'https://gitlab.example.com/acme/shop.git');
    assert.match(created.stdout, new RegExp(`^Push to run pipelines: git push ${s.url}/cli-taken\\.git main$`, 'm'));
    const push = await user.pushAsPrinted(created.stdout, repo);
    ok(push, 'the printed git push');
    pipelineLine(push);

    const elsewhere = await user.run(['projects:create', 'cli-later']);
    ok(elsewhere, 'projects:create outside a repository');
    assert.match(elsewhere.stdout, /^Push to run pipelines: in your repository, run slipway projects:remote -p cli-later, then git push slipway-ci main$/m);
  });

  test('projects:remote and git:remote -p add the remote later; app commands do not take it for an app', async () => {
    const repo = await user.workTree();
    ok(await user.gitIn(repo, 'checkout', '-q', '-b', 'trunk'), 'checkout');
    const added = await user.run(['projects:remote', '-p', 'cli-shop'], repo);
    ok(added, 'projects:remote');
    assert.match(added.stdout, new RegExp(`^Git remote slipway-ci added: ${s.url}/cli-shop\\.git$`, 'm'));
    assert.match(added.stdout, /^Push to run pipelines: git push slipway-ci trunk$/m);
    ok(await user.pushAsPrinted(added.stdout, repo), 'the printed git push');
    const heads = await user.gitIn(repo, 'ls-remote', 'slipway-ci');
    ok(heads, 'ls-remote');
    assert.match(heads.stdout, /refs\/heads\/trunk/);

    const named = await user.run(['git:remote', '-p', 'cli-shop', '-r', 'ci'], repo);
    ok(named, 'git:remote -p');
    assert.match(named.stdout, /^Git remote ci added: /m);
    const again = await user.run(['git:remote', '-p', 'cli-shop', '-r', 'ci'], repo);
    assert.match(again.stdout, /^Git remote ci already points at /m);

    // -a with a project's name points at -p instead of "Couldn't find that app".
    const wrongFlag = await user.run(['git:remote', '-a', 'cli-shop'], repo);
    assert.equal(wrongFlag.code, 1);
    assert.match(wrongFlag.stderr, /cli-shop is a CI project, not an app\. Run: slipway git:remote -p cli-shop/);

    // App detection skips the project's remotes: none is an app; with an app remote, that one is used.
    const noApp = await user.run(['config'], repo);
    assert.equal(noApp.code, 1);
    assert.match(noApp.stderr, /No app specified/);
    const byRemote = await user.run(['config', '-r', 'slipway-ci'], repo);
    assert.equal(byRemote.code, 1);
    assert.match(byRemote.stderr, /The git remote slipway-ci is the CI project cli-shop, not an app/);
    ok(await user.run(['apps:create', 'cli-shop-app'], repo), 'apps:create');
    ok(await user.run(['config:set', 'WHO=app'], repo), 'config:set');
    assert.equal((await user.run(['config:get', 'WHO'], repo)).stdout, 'app\n');
  });

  test('ci:cancel prints the state after the cancel; ci:job:log --follow exits 1 for a canceled job; ci:vars columns', async () => {
    const repo = await user.workTree();
    ok(await user.run(['projects:remote', '-p', 'cli-shop'], repo), 'projects:remote');
    ok(await user.gitIn(repo, 'checkout', '-q', '-b', 'slow'), 'checkout');
    writeFileSync(join(repo, '.gitlab-ci.yml'), ['slow: {script: [echo started, sleep 300]}', 'after: {stage: deploy, script: echo never}', ''].join('\n'));
    ok(await user.gitIn(repo, 'commit', '-q', '-am', 'slow'), 'commit');
    const push = await user.gitIn(repo, 'push', 'slipway-ci', 'slow');
    ok(push, 'push');
    const { number } = pipelineLine(push);
    const slow = await waitFor('the slow job to print', async () => {
      const p = (await s.api('GET', `/projects/cli-shop/pipelines/${number}`)).body;
      const job = p.jobs.find((j: any) => j.name === 'slow');
      if (job?.status !== 'running') return undefined;
      const log = await fetch(`${s.url}/projects/cli-shop/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
      return /started/.test(await log.text()) ? job : undefined;
    }, 60_000, 100);

    const following = user.run(['ci:job:log', String(slow.id), '-p', 'cli-shop', '--follow']);
    const canceled = await user.run(['ci:cancel', String(number), '-p', 'cli-shop']);
    ok(canceled, 'ci:cancel');
    assert.match(canceled.stdout, new RegExp(`^Canceled pipeline #${number}: canceled \\(jobs: 2 canceled\\)$`, 'm'));
    const followed = await following;
    assert.equal(followed.code, 1, `ci:job:log --follow of a canceled job:\n${followed.stdout}\n${followed.stderr}`);
    assert.match(followed.stdout, /started/);
    assert.match(followed.stderr, new RegExp(`Job #${slow.id} \\(slow\\) canceled`));
    assert.equal((await user.run(['ci:pipeline', String(number), '-p', 'cli-shop'])).code, 1);
    // Without --follow the log is printed and that is a success.
    ok(await user.run(['ci:job:log', String(slow.id), '-p', 'cli-shop']), 'ci:job:log');

    writeFileSync(join(repo, 'again.txt'), 'again\n');
    ok(await user.gitIn(repo, 'add', '-A'), 'add');
    ok(await user.gitIn(repo, 'commit', '-q', '-m', 'again'), 'commit');
    const second = pipelineLine(await user.gitIn(repo, 'push', 'slipway-ci', 'slow')).number;
    const secondSlow = await waitFor('the second slow job to run', async () => {
      const job = (await s.api('GET', `/projects/cli-shop/pipelines/${second}`)).body.jobs.find((j: any) => j.name === 'slow');
      return job?.status === 'running' ? job : undefined;
    }, 60_000, 100);
    const one = await user.run(['ci:cancel', '--job', String(secondSlow.id), '-p', 'cli-shop']);
    ok(one, 'ci:cancel --job');
    assert.match(one.stdout, new RegExp(`^Canceled job #${secondSlow.id} \\(slow\\): canceled$`, 'm'));

    for (const args of [['PLAIN=plain-value'], ['RAW_ONE=$HOME-literal', '--raw'], ['CONFIG_FILE=some-config', '--file', '--protected']]) {
      ok(await user.run(['ci:vars:set', '-p', 'cli-shop', ...args]), `ci:vars:set ${args.join(' ')}`);
    }
    const vars = await user.run(['ci:vars', '-p', 'cli-shop']);
    ok(vars, 'ci:vars');
    assert.match(vars.stdout, /^Key\s+Value\s+Environments\s+Protected\s+Masked\s+Type\s+Expand$/m);
    assert.match(vars.stdout, /^PLAIN\s+plain-value\s+\*\s+false\s+false\s+env_var\s+true$/m);
    assert.match(vars.stdout, /^RAW_ONE\s+\$HOME-literal\s+\*\s+false\s+false\s+env_var\s+false$/m);
    assert.match(vars.stdout, /^CONFIG_FILE\s+some-config\s+\*\s+true\s+false\s+file\s+true$/m);
  });
});

describe('CI projects from the CLI, logged in over HTTPS with Slipway\'s own CA', () => {
  let s: Slipway;

  before(async () => {
    s = await startSlipway();
  });
  after(async () => {
    await s?.destroy();
  });

  test('projects:create makes git trust the CA for that server only; plain git push works', async () => {
    // The CLI trusts the CA as docs/heroku-cli.md says; git is given nothing by hand.
    const user = makeUser({ NODE_EXTRA_CA_CERTS: join(s.dataDir, 'tls', 'ca.pem') });
    ok(await user.run(['login', '--url', s.httpsUrl, '--api-key', s.apiKey]), 'login over HTTPS');
    const repo = await user.workTree();

    // What QA saw: the server's HTTPS git URL alone fails the certificate check.
    const bare = await user.gitIn(repo, 'push', `${s.httpsUrl}/secure-shop.git`, 'main');
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr, /certificate/i);

    const created = await user.run(['projects:create', 'secure-shop'], repo);
    ok(created, 'projects:create');
    assert.match(created.stderr, new RegExp(`^Git remote slipway-ci added: ${s.httpsUrl}/secure-shop\\.git$`, 'm'));
    const caInfo = await user.gitIn(repo, 'config', '--get-urlmatch', 'http.sslCAInfo', `${s.httpsUrl}/secure-shop.git`);
    ok(caInfo, 'the sslCAInfo setting for the server');
    assert.equal((await user.gitIn(repo, 'config', '--get-urlmatch', 'http.sslCAInfo', 'https://github.com/acme/shop.git')).code, 1);

    const push = await user.pushAsPrinted(created.stdout, repo);
    ok(push, 'the printed git push over HTTPS');
    assert.match(pipelineLine(push).url, /\/projects\/secure-shop\/pipelines\/1$/);

    // Logging out and in again does not break the repository's TLS settings.
    ok(await user.run(['logout']), 'logout');
    ok(await user.run(['login', '--url', s.httpsUrl, '--api-key', s.apiKey]), 'login again');
    mkdirSync(join(repo, 'more'), { recursive: true });
    writeFileSync(join(repo, 'more', 'file.txt'), 'more\n');
    ok(await user.gitIn(repo, 'add', '-A'), 'add');
    ok(await user.gitIn(repo, 'commit', '-q', '-m', 'more'), 'commit');
    ok(await user.gitIn(repo, 'push', 'slipway-ci', 'main'), 'push after logging in again');
  });
});
