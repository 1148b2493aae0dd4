/**
 * The git endpoint driven by the real git client over real HTTP: clones, deploying pushes,
 * rejections, auth, force pushes, big pushes and gzip-encoded requests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { appNotFound, forbidden } from '../../src/core/errors.js';
import { ensureAppRepo, registerGitRoutes, type GitAccount, type GitPush, type PushResult } from '../../src/git/index.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'slipway-git-test-'));
// A clean HOME and no system config: the developer's own git settings must not leak in.
const GIT_ENV = {
  HOME: scratch,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function run(
  cmd: string,
  args: string[],
  cwd?: string,
  options: { detached?: boolean; onSpawn?: (pid: number) => void; onStderr?: (soFar: string) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...GIT_ENV }, detached: options.detached });
    if (child.pid) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      options.onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

const git = (cwd: string, ...args: string[]) => run('git', args, cwd);

async function mustGit(cwd: string, ...args: string[]): Promise<string> {
  const result = await git(cwd, ...args);
  assert.equal(result.code, 0, `git ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout.trim();
}

let dirCount = 0;
const newDir = (name: string) => {
  const dir = join(scratch, `${name}-${++dirCount}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** A local repository with one commit holding `files`. */
async function localRepo(files: Record<string, string | Buffer>, branch = 'main'): Promise<string> {
  const dir = newDir('work');
  await mustGit(dir, 'init', '-q', '-b', branch);
  await commit(dir, files, 'first');
  return dir;
}

async function commit(dir: string, files: Record<string, string | Buffer>, message: string): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  await mustGit(dir, 'add', '-A');
  await mustGit(dir, 'commit', '-q', '-m', message);
  return mustGit(dir, 'rev-parse', 'HEAD');
}

const ACCOUNTS: Record<string, GitAccount> = {
  'key-alice': { id: 'u-alice', email: 'alice@example.com' },
  'key-mallory': { id: 'u-mallory', email: 'mallory@example.com' },
};
const APPS = new Set(['streamapp', 'tagapp', 'myapp', 'masterapp', 'failapp', 'bigapp', 'forceapp', 'lazyapp', 'gzipapp', 'abortapp', 'branchapp']);

type PushHandler = (push: GitPush) => Promise<PushResult>;

interface Server {
  app: FastifyInstance;
  base: string;
  reposDir: string;
  pushes: Array<GitPush & { files: string[] }>;
  handlers: Map<string, PushHandler>;
  gzipRequests: number;
  url(app: string, key?: string): string;
}

async function startServer(): Promise<Server> {
  const reposDir = join(scratch, 'repos');
  const app = Fastify();
  let port = 0;
  const server: Server = {
    app,
    base: '',
    reposDir,
    pushes: [],
    handlers: new Map(),
    gzipRequests: 0,
    url: (name, key = 'key-alice') => `http://git:${key}@127.0.0.1:${port}/${name}.git`,
  };
  app.addHook('onRequest', async (request) => {
    if (request.headers['content-encoding'] === 'gzip') server.gzipRequests++;
  });
  registerGitRoutes(app, {
    reposDir,
    authenticate: async (key) => ACCOUNTS[key] ?? null,
    authorize: async (account, name) => {
      if (!APPS.has(name)) throw appNotFound();
      if (account.id !== 'u-alice') throw forbidden(`You do not have access to ${name}.`);
    },
    onPush: async (push) => {
      // The archive only lives until onPush settles, so look inside it now.
      const listing = await run('tar', ['-tf', push.archivePath]);
      assert.equal(listing.code, 0, listing.stderr);
      server.pushes.push({ ...push, files: listing.stdout.split('\n').filter(Boolean) });
      const handler = server.handlers.get(push.appName);
      if (handler) return handler(push);
      push.out('Building source:');
      push.out(`-----> ${push.ref} at ${push.newSha}`);
      push.out('-----> Launching... done');
      return { ok: true };
    },
    internalUrl: () => `http://127.0.0.1:${port}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  server.base = `http://127.0.0.1:${port}`;
  for (const name of ['streamapp', 'tagapp', 'myapp', 'masterapp', 'failapp', 'bigapp', 'forceapp', 'gzipapp', 'abortapp', 'branchapp']) {
    await ensureAppRepo(reposDir, name);
  }
  return server;
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function http(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (key: string) => `Basic ${Buffer.from(`heroku:${key}`).toString('base64')}`;

function assertInOrder(text: string, parts: string[]): void {
  let from = 0;
  for (const part of parts) {
    const at = text.indexOf(part, from);
    assert.ok(at >= 0, `expected ${JSON.stringify(part)} after position ${from} in:\n${text}`);
    from = at + part.length;
  }
}

async function remoteRefs(url: string): Promise<Record<string, string>> {
  const result = await run('git', ['ls-remote', url]);
  assert.equal(result.code, 0, result.stderr);
  return Object.fromEntries(
    result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').reverse()),
  );
}

describe('git over smart HTTP', () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.app.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('clones an empty app repository', async () => {
    const dir = newDir('clone-empty');
    const result = await run('git', ['clone', server.url('myapp'), join(dir, 'myapp')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /empty repository/);
    assert.ok(existsSync(join(dir, 'myapp', '.git')));
  });

  test('a push to main deploys the pushed commit and streams remote: lines in order', async () => {
    // export-ignore is for release tarballs: the build still gets every committed file.
    const work = await localRepo({ 'index.js': 'console.log(1)\n', 'lib/util.js': 'export {}\n', Procfile: 'web: node index.js\n', '.gitattributes': 'lib/** export-ignore\n' });
    const sha = await mustGit(work, 'rev-parse', 'HEAD');
    const result = await git(work, 'push', server.url('myapp'), 'main');
    assert.equal(result.code, 0, result.stderr);
    assertInOrder(result.stderr, ['remote: Building source:', `remote: -----> refs/heads/main at ${sha}`, 'remote: -----> Launching... done']);

    const push = server.pushes.find((p) => p.appName === 'myapp');
    assert.ok(push, 'onPush was called');
    assert.equal(push.ref, 'refs/heads/main');
    assert.equal(push.newSha, sha);
    assert.match(push.oldSha, /^0{40}$/);
    assert.deepEqual(push.account, ACCOUNTS['key-alice']);
    for (const file of ['index.js', 'lib/util.js', 'Procfile']) assert.ok(push.files.includes(file), `${file} in ${push.files}`);
    assert.equal(existsSync(push.archivePath), false, 'the archive is removed after the push');
    assert.equal((await remoteRefs(server.url('myapp')))['refs/heads/main'], sha);

    // upload-pack: the pushed code clones back, with main checked out.
    const clone = join(newDir('clone'), 'myapp');
    await mustGit(scratch, 'clone', '-q', server.url('myapp'), clone);
    assert.equal(readFileSync(join(clone, 'lib/util.js'), 'utf8'), 'export {}\n');
    assert.equal(await mustGit(clone, 'rev-parse', '--abbrev-ref', 'HEAD'), 'main');
  });

  test('a push to master deploys too, and clones then check out master', async () => {
    const work = await localRepo({ 'app.py': 'print(1)\n' }, 'master');
    const sha = await mustGit(work, 'rev-parse', 'HEAD');
    const result = await git(work, 'push', server.url('masterapp'), 'HEAD:refs/heads/master');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /remote: -----> Launching\.\.\. done/);
    const push = server.pushes.find((p) => p.appName === 'masterapp');
    assert.equal(push?.ref, 'refs/heads/master');
    assert.equal(push?.newSha, sha);
    assert.deepEqual(push?.files, ['app.py']);

    const clone = join(newDir('clone'), 'masterapp');
    await mustGit(scratch, 'clone', '-q', server.url('masterapp'), clone);
    assert.equal(await mustGit(clone, 'rev-parse', '--abbrev-ref', 'HEAD'), 'master');
    assert.ok(existsSync(join(clone, 'app.py')));
  });

  test('output reaches the pusher while the build is still running', async () => {
    // onPush only finishes once git has printed its first line: buffered output would hang here.
    let seen!: () => void;
    const printed = new Promise<void>((resolve) => (seen = resolve));
    server.handlers.set('streamapp', async (push) => {
      push.out('-----> Step one');
      await printed;
      push.out('-----> Step two');
      return { ok: true };
    });
    const work = await localRepo({ 's.txt': 's\n' });
    const result = await run('git', ['push', server.url('streamapp'), 'main'], work, {
      onStderr: (soFar) => soFar.includes('remote: -----> Step one') && seen(),
    });
    server.handlers.delete('streamapp');
    assert.equal(result.code, 0, result.stderr);
    assertInOrder(result.stderr, ['remote: -----> Step one', 'remote: -----> Step two']);
  });

  test('tags and other branches ride along with a deploy; main wins over master', async () => {
    const work = await localRepo({ 't.txt': 't\n' });
    const sha = await mustGit(work, 'rev-parse', 'HEAD');
    await mustGit(work, 'tag', 'v1');
    const before = server.pushes.length;
    const result = await git(work, 'push', server.url('tagapp'), 'main', 'main:master', 'main:topic', 'v1');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /remote: Pushed refs\/tags\/v1; only main and master deploy\./);
    assert.match(result.stderr, /remote: Pushed to branch topic; only main and master deploy\./);
    assert.match(result.stderr, /remote: Pushed to both main and master; deploying main\./);
    const deploys = server.pushes.slice(before);
    assert.equal(deploys.length, 1, 'one deploy for one push');
    assert.equal(deploys[0].ref, 'refs/heads/main');
    assert.equal(deploys[0].newSha, sha);
    const refs = await remoteRefs(server.url('tagapp'));
    for (const ref of ['refs/heads/main', 'refs/heads/master', 'refs/heads/topic', 'refs/tags/v1']) assert.equal(refs[ref], sha, ref);
  });

  test('a failed deploy rejects the push and leaves the remote ref alone', async () => {
    const work = await localRepo({ 'a.txt': 'one\n' });
    const first = await mustGit(work, 'rev-parse', 'HEAD');
    await mustGit(work, 'push', '-q', server.url('failapp'), 'main');

    server.handlers.set('failapp', async (push) => {
      push.out('-----> Building...');
      return { ok: false, message: ' !     Push rejected, failed to compile app.' };
    });
    await commit(work, { 'a.txt': 'two\n' }, 'second');
    const result = await git(work, 'push', server.url('failapp'), 'main');
    server.handlers.delete('failapp');
    assert.notEqual(result.code, 0);
    assertInOrder(result.stderr, ['remote: -----> Building...', 'remote:  !     Push rejected, failed to compile app.', 'pre-receive hook declined']);
    assert.equal((await remoteRefs(server.url('failapp')))['refs/heads/main'], first);
  });

  test('an onPush that throws rejects the push with a clear message', async () => {
    const work = await localRepo({ 'a.txt': 'x\n' });
    server.handlers.set('failapp', async () => {
      throw new Error('database is on fire');
    });
    const result = await git(work, 'push', '--force', server.url('failapp'), 'main');
    server.handlers.delete('failapp');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /remote: Deploy failed because of an internal error/);
    assert.doesNotMatch(result.stderr, /on fire/);
  });

  test('a push to another branch is accepted without a deploy', async () => {
    const work = await localRepo({ 'b.txt': 'b\n' });
    const sha = await mustGit(work, 'rev-parse', 'HEAD');
    const before = server.pushes.length;
    const result = await git(work, 'push', server.url('branchapp'), 'main:feature');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /remote: Pushed to branch feature; only main and master deploy\./);
    assert.equal(server.pushes.length, before);
    assert.equal((await remoteRefs(server.url('branchapp')))['refs/heads/feature'], sha);
  });

  test('deleting main is refused', async () => {
    const work = await localRepo({ 'c.txt': 'c\n' });
    await mustGit(work, 'push', '-q', server.url('branchapp'), 'main');
    const result = await git(work, 'push', server.url('branchapp'), ':main');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /remote: Deleting main is not allowed/);
    assert.ok((await remoteRefs(server.url('branchapp')))['refs/heads/main']);
  });

  test('a non-fast-forward push needs --force, and then deploys', async () => {
    const work = await localRepo({ 'f.txt': '1\n' });
    await mustGit(work, 'push', '-q', server.url('forceapp'), 'main');
    await mustGit(work, 'commit', '-q', '--amend', '-m', 'rewritten');
    const rewritten = await mustGit(work, 'rev-parse', 'HEAD');
    const before = server.pushes.length;

    const plain = await git(work, 'push', server.url('forceapp'), 'main');
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /rejected|non-fast-forward/);
    assert.equal(server.pushes.length, before, 'no deploy for a rejected push');

    const forced = await git(work, 'push', '--force', server.url('forceapp'), 'main');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(server.pushes.at(-1)?.newSha, rewritten);
    assert.equal((await remoteRefs(server.url('forceapp')))['refs/heads/main'], rewritten);
  });

  test('a push of several megabytes works', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) files[`blob-${i}.bin`] = randomBytes(1024 * 1024);
    const work = await localRepo(files);
    const result = await git(work, 'push', server.url('bigapp'), 'main');
    assert.equal(result.code, 0, result.stderr);
    const push = server.pushes.find((p) => p.appName === 'bigapp');
    assert.deepEqual(push?.files.sort(), Object.keys(files).sort());
    const clone = join(newDir('clone'), 'bigapp');
    await mustGit(scratch, 'clone', '-q', server.url('bigapp'), clone);
    assert.ok(readFileSync(join(clone, 'blob-3.bin')).equals(files['blob-3.bin']));
  });

  test('gzip-encoded upload-pack requests are decoded', async () => {
    const work = await localRepo({ 'g.txt': 'g\n' });
    const sha = await mustGit(work, 'rev-parse', 'HEAD');
    // Many branches make git's fetch negotiation big enough for it to gzip the request.
    for (let i = 0; i < 60; i++) {
      await mustGit(work, 'branch', `topic-${String(i).padStart(2, '0')}`);
      await commit(work, { [`t${i}.txt`]: `${i}\n` }, `topic ${i}`);
    }
    await mustGit(work, 'push', '-q', server.url('gzipapp'), '--all');

    // Straight over HTTP: a protocol v0 want/done request, gzipped.
    const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;
    const body = gzipSync(Buffer.from(`${pkt(`want ${sha}\n`)}0000${pkt('done\n')}`));
    const response = await http('POST', `${server.base}/gzipapp.git/git-upload-pack`, {
      authorization: basic('key-alice'),
      'content-type': 'application/x-git-upload-pack-request',
      'content-encoding': 'gzip',
    }, body);
    assert.equal(response.status, 200, response.body.toString());
    assert.equal(response.headers['content-type'], 'application/x-git-upload-pack-result');
    assert.ok(response.body.includes(Buffer.from('PACK')), 'the response carries a pack');

    // And through git itself.
    const gzipBefore = server.gzipRequests;
    const clone = join(newDir('clone'), 'gzipapp');
    const result = await run('git', ['clone', '--mirror', server.url('gzipapp'), clone]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(server.gzipRequests > gzipBefore, 'git sent a gzip-encoded request');
    assert.equal((await mustGit(clone, 'for-each-ref', 'refs/heads')).split('\n').length, 61);
  });

  test('advertisements have the right content type, no-cache and the service header', async () => {
    const response = await http('GET', `${server.base}/myapp.git/info/refs?service=git-upload-pack`, { authorization: basic('key-alice') });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/x-git-upload-pack-advertisement');
    assert.match(String(response.headers['cache-control']), /no-cache/);
    assert.ok(response.body.toString().startsWith('001e# service=git-upload-pack\n0000'));
    // The .git suffix is optional.
    const bare = await run('git', ['ls-remote', server.url('myapp').replace(/\.git$/, '')]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stdout, /refs\/heads\/main/);
  });

  test('missing credentials get a 401 with a Basic challenge', async () => {
    const response = await http('GET', `${server.base}/myapp.git/info/refs?service=git-receive-pack`);
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Basic realm="Slipway"');
    const result = await run('git', ['ls-remote', `${server.base}/myapp.git`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /could not read Username|Authentication failed/);
  });

  test('a wrong API key gets a 401', async () => {
    const response = await http('GET', `${server.base}/myapp.git/info/refs?service=git-upload-pack`, { authorization: basic('nope') });
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Basic realm="Slipway"');
    const result = await run('git', ['ls-remote', server.url('myapp', 'nope')]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Authentication failed/);
  });

  test('no access to the app: the push fails with a message git shows', async () => {
    const work = await localRepo({ 'm.txt': 'm\n' });
    const result = await git(work, 'push', server.url('myapp', 'key-mallory'), 'main');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /remote: You do not have access to the app myapp\./);
    const missing = await git(work, 'push', server.url('nosuchapp'), 'main');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /remote: Couldn't find that app\. Create it first with: slipway apps:create nosuchapp/);
  });

  test('a repository is created on first use for an app that has none', async () => {
    assert.equal(existsSync(join(server.reposDir, 'lazyapp.git')), false);
    const dir = newDir('clone-lazy');
    const result = await run('git', ['clone', server.url('lazyapp'), join(dir, 'lazyapp')]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(server.reposDir, 'lazyapp.git', 'hooks', 'pre-receive')));
  });

  test('the internal hook route only opens with a live push token', async () => {
    const attempts: Array<Record<string, string>> = [{}, { 'x-slipway-push-token': 'guess' }, { 'x-slipway-push-token': 'guess', 'content-type': 'application/x-tar' }];
    for (const headers of attempts) {
      const response = await http('POST', `${server.base}/internal/git-hook?ref=refs/heads/main&old=${'0'.repeat(40)}&new=${'1'.repeat(40)}`, headers, Buffer.from('x'));
      assert.equal(response.status, 404);
    }
  });

  test('the build is aborted when the pusher disconnects', async () => {
    let started!: () => void;
    const building = new Promise<void>((resolve) => (started = resolve));
    let sawAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((resolve) => (sawAbort = resolve));
    server.handlers.set('abortapp', async (push) => {
      push.out('-----> Building forever');
      started();
      await new Promise<void>((resolve) => push.signal.addEventListener('abort', () => resolve(), { once: true }));
      sawAbort(push.signal.reason);
      return { ok: false, message: 'aborted' };
    });
    const work = await localRepo({ 'x.txt': 'x\n' });
    let pid = 0;
    // Its own process group, so that git-remote-http (which holds the connection) dies with it.
    const pushing = run('git', ['push', server.url('abortapp'), 'main'], work, { detached: true, onSpawn: (p) => (pid = p) });
    await building;
    process.kill(-pid, 'SIGKILL');
    const reason = await aborted;
    assert.match(String(reason), /disconnected/);
    await pushing;
    server.handlers.delete('abortapp');
    assert.equal((await remoteRefs(server.url('abortapp')))['refs/heads/main'], undefined);
    // receive-pack must outlive the hang-up to clean up its quarantined objects.
    const objects = join(server.reposDir, 'abortapp.git', 'objects');
    const quarantined = () => readdirSync(objects).filter((name) => name.startsWith('tmp_objdir'));
    for (let i = 0; i < 300 && quarantined().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(quarantined(), []);
  });
});
