/**
 * Builds every example app with the real BuildpackBuilder (real buildpacks, real npm, real
 * tar) and checks the slugs, process types and error messages — and runs two of the slugs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildError, type BuildResult } from '../../src/build/contract.js';
import { BuildpackBuilder } from '../../src/build/buildpack-builder.js';
import { exec, exampleRepo } from '../helpers/exec.js';
import { EXAMPLES } from '../helpers/slipway.js';

interface Built {
  result: BuildResult;
  output: string[];
  slugPath: string;
  cacheDir: string;
}

async function build(sourceDir: string, options: { cacheDir?: string; env?: Record<string, string>; buildpacks?: string[] } = {}): Promise<Built> {
  const work = mkdtempSync(join(tmpdir(), 'slipway-build-example-'));
  const cacheDir = options.cacheDir ?? join(work, 'cache');
  const slugPath = join(work, 'slugs', 'slug.tgz');
  const output: string[] = [];
  const builder = new BuildpackBuilder({ buildpacksCacheDir: join(work, 'buildpacks') });
  try {
    const result = await builder.build({
      appId: 'app-id',
      appName: 'example',
      sourceDir,
      cacheDir,
      buildpacks: options.buildpacks ?? [],
      env: options.env ?? {},
      slugPath,
      output: (line) => output.push(line),
    });
    return { result, output, slugPath, cacheDir };
  } catch (err) {
    (err as Error & { output?: string[] }).output = output;
    throw err;
  }
}

function copyExample(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `slipway-${name}-`)), 'src');
  cpSync(join(EXAMPLES, name), dir, { recursive: true });
  return dir;
}

async function slugEntries(slugPath: string): Promise<string[]> {
  const listing = await exec('tar', ['-tzf', slugPath]);
  assert.equal(listing.code, 0, listing.stderr);
  return listing.stdout.split('\n').filter(Boolean);
}

async function unpackSlug(slugPath: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-slug-'));
  assert.equal((await exec('tar', ['-xzf', slugPath, '-C', dir])).code, 0);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process type from an unpacked slug the way a dyno does (profile.d, HOME=app). */
function startDyno(appDir: string, command: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const script = 'for f in .profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; exec bash -c "$0"';
  const child = spawn('bash', ['-c', script, command], {
    cwd: appDir,
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: appDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (c) => (text += c));
  child.stderr!.on('data', (c) => (text += c));
  return { child, output: () => text };
}

/** Polls until the URL answers (the dyno needs a moment to listen); no timing assertions. */
async function fetchWhenUp(url: string): Promise<Response> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return await fetch(url);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw lastError;
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

test('node-app: npm ci, build script, pruned devDependencies, Procfile types, runnable slug', async () => {
  const source = await exampleRepo('node-app');
  assert.ok(existsSync(join(source, '.git')));
  const { result, output, slugPath, cacheDir } = await build(source);

  assert.deepEqual(result.processTypes, { web: 'node server.js', worker: 'node worker.js', release: 'node release.js' });
  assert.deepEqual(result.buildpacks, ['nodejs']);
  assert.equal(result.description, 'Node.js');
  assert.equal(result.stack, 'slipway-24');
  assert.equal(result.slugSize, statSync(slugPath).size);
  assert.equal(result.checksum, `SHA256:${createHash('sha256').update(readFileSync(slugPath)).digest('hex')}`);

  const text = output.join('\n');
  assert.match(text, /^-----> Building on the slipway-24 stack$/m);
  assert.match(text, /^-----> Node\.js app detected$/m);
  assert.match(text, /npm ci/);
  assert.match(text, /Wrote build-info\.txt/);
  assert.match(text, /^-----> Discovering process types$/m);
  assert.match(text, /^ {7}Procfile declares types -> web, worker, release$/m);
  assert.match(text, /^-----> Compressing\.\.\.$/m);
  assert.match(text, /^ {7}Done: \d+(\.\d)?[BKMG]$/m);

  const entries = await slugEntries(slugPath);
  for (const expected of ['./server.js', './worker.js', './release.js', './Procfile', './build-info.txt', './node_modules/greeting', './.profile.d/nodejs.sh']) {
    assert.ok(entries.includes(expected), `slug should contain ${expected}`);
  }
  assert.ok(!entries.some((e) => e.startsWith('./app/')), 'contents sit at the archive root');
  assert.ok(!entries.some((e) => e === './.git/' || e.startsWith('./.git/')), '.git is not in the slug');
  assert.ok(!entries.includes('./node_modules/dev-tools'), 'devDependencies are pruned');
  assert.ok(existsSync(join(cacheDir, 'npm')), 'npm used the app cache');

  // Run the web process from the slug, as a dyno would.
  const app = await unpackSlug(slugPath);
  assert.match(readFileSync(join(app, '.profile.d', 'nodejs.sh'), 'utf8'), /node_modules\/\.bin/);
  const port = await freePort();
  const web = startDyno(app, 'node server.js', { PORT: String(port), DYNO: 'web.1', GREETING_COLOR: 'teal' });
  try {
    const home = await fetchWhenUp(`http://127.0.0.1:${port}/`);
    const body = await home.text();
    assert.match(body, /Hello from node-app/);
    assert.match(body, /web\.1/);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/health`)).text(), 'ok\n');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/config/GREETING_COLOR`)).text(), 'teal');
    assert.equal((await fetch(`http://127.0.0.1:${port}/config/NOT_SET_ANYWHERE`)).status, 404);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/build-info`)).text(), /built at/);
  } finally {
    web.child.kill('SIGTERM');
  }
  assert.equal(await stopped(web.child), 0);
  assert.match(web.output(), /GET \/health/);
  assert.match(web.output(), /web received SIGTERM, shutting down/);

  // The release script reports the version and exits with RELEASE_EXIT_CODE.
  const release = await exec('node', ['release.js'], { cwd: app, env: { HEROKU_RELEASE_VERSION: 'v7', RELEASE_EXIT_CODE: '3' } });
  assert.equal(release.code, 3);
  assert.match(release.stdout, /release phase ran for v7/);
});

test('node-app: a second build reuses the cached node_modules', async () => {
  const cacheDir = join(mkdtempSync(join(tmpdir(), 'slipway-build-cache-')), 'cache');
  const first = await build(copyExample('node-app'), { cacheDir });
  assert.match(first.output.join('\n'), /Installing node modules from package-lock\.json \(npm ci\)/);
  // greeting is a relative link into vendor/, so look at the link itself.
  assert.ok(lstatSync(join(cacheDir, 'nodejs', 'node_modules', 'greeting')).isSymbolicLink(), 'node_modules is cached');

  const second = await build(copyExample('node-app'), { cacheDir });
  const text = second.output.join('\n');
  assert.match(text, /Restored node_modules from the build cache/);
  assert.doesNotMatch(text, /\(npm ci\)/);
  const entries = await slugEntries(second.slugPath);
  assert.ok(entries.includes('./node_modules/greeting'));
  assert.ok(!entries.includes('./node_modules/dev-tools'), 'the warm build prunes devDependencies too');
  assert.ok(entries.includes('./build-info.txt'), 'the build script still runs on a warm build');
  assert.deepEqual(second.result.processTypes, first.result.processTypes);

  // A changed lockfile means a fresh install.
  const changed = copyExample('node-app');
  const lock = JSON.parse(readFileSync(join(changed, 'package-lock.json'), 'utf8'));
  lock.packages['vendor/greeting'].license = 'MIT';
  writeFileSync(join(changed, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const third = await build(changed, { cacheDir });
  assert.match(third.output.join('\n'), /\(npm ci\)/);
});

test('static-site: detected as static and served by the bundled server', async () => {
  const { result, output, slugPath } = await build(await exampleRepo('static-site'));
  assert.deepEqual(result.processTypes, { web: 'node .slipway/static-server.js' });
  assert.equal(result.description, 'Static HTML');
  assert.deepEqual(result.buildpacks, ['static']);
  assert.match(output.join('\n'), /^-----> Static HTML app detected$/m);
  assert.match(output.join('\n'), /Default types for buildpack -> web/);
  const entries = await slugEntries(slugPath);
  for (const expected of ['./index.html', './css/site.css', './.slipway/static-server.js']) assert.ok(entries.includes(expected), expected);

  const app = await unpackSlug(slugPath);
  const port = await freePort();
  const web = startDyno(app, result.processTypes.web, { PORT: String(port) });
  try {
    const home = await fetchWhenUp(`http://127.0.0.1:${port}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await home.text(), /Hello from static-site/);
    const css = await fetch(`http://127.0.0.1:${port}/css/site.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    await css.text();
    for (const hidden of ['/.slipway/static-server.js', '/.slipway/package.json', '/missing.html', '/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await fetch(`http://127.0.0.1:${port}${hidden}`);
      assert.equal(res.status, 404, hidden);
      assert.match(await res.text(), /404/);
    }
  } finally {
    web.child.kill('SIGTERM');
  }
  assert.equal(await stopped(web.child), 0);
});

test('failing-build: BuildError, with the build script message in the output', async () => {
  await assert.rejects(build(copyExample('failing-build')), (err: unknown) => {
    assert.ok(err instanceof BuildError, `expected BuildError, got ${err}`);
    assert.match(err.message, /"build" script in package\.json failed/);
    const output = (err as Error & { output: string[] }).output.join('\n');
    assert.match(output, /Build step failed: missing API_BASE setting/);
    return true;
  });
});

test('failing-build: config vars reach the build through ENV_DIR, and are masked in output', async () => {
  const { result, output } = await build(copyExample('failing-build'), { env: { API_BASE: 'https://api.example.com/v1' } });
  assert.equal(result.description, 'Node.js');
  assert.deepEqual(result.processTypes, { web: 'npm start' });
  const text = output.join('\n');
  assert.match(text, /Building against api\.example\.com/);
  assert.doesNotMatch(text, /https:\/\/api\.example\.com\/v1/);
});

test('crashing-app: Procfile-only app', async () => {
  const { result, slugPath } = await build(copyExample('crashing-app'));
  assert.deepEqual(result.processTypes, { web: 'node crash.js' });
  assert.equal(result.description, 'Procfile');
  assert.deepEqual(result.buildpacks, ['procfile']);
  assert.deepEqual((await slugEntries(slugPath)).sort(), ['./', './Procfile', './README.md', './crash.js']);
});

test('broken-procfile: BuildError naming the Procfile line', async () => {
  await assert.rejects(build(copyExample('broken-procfile')), (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, /Procfile line 2/);
    assert.match(err.message, /web node server\.js/);
    assert.match(err.message, /"web: node server\.js"/);
    return true;
  });
});

test('an app with nothing to detect fails with a message saying what to add', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'slipway-empty-')), 'src');
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'nothing to run here');
  await assert.rejects(build(dir), (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, /No buildpack detected: add a package\.json, an index\.html or a Procfile, or set a buildpack/);
    return true;
  });
});

test('engines.node that the host cannot satisfy fails with a clear message', async () => {
  const dir = copyExample('node-app');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.engines.node = '>=99';
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  await assert.rejects(build(dir), (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, new RegExp(`Node\\.js ${process.versions.node.replace(/\./g, '\\.')}, which does not satisfy engines\\.node ">=99"`));
    assert.match(err.message, /Change engines\.node/);
    return true;
  });
});
