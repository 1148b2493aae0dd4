/**
 * The buildpack protocol with custom buildpacks: local paths, file:// git URLs with refs,
 * `export` chaining, a cleared environment, ENV_DIR, masking, .slugignore and aborts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError, type BuildResult } from '../../src/build/contract.js';
import { BuildpackBuilder, type BuildpackBuildRequest } from '../../src/build/buildpack-builder.js';
import { parseSlugignore } from '../../src/build/slugignore.js';
import { exec, git } from '../helpers/exec.js';

function temp(name: string): string {
  return mkdtempSync(join(tmpdir(), `slipway-bp-${name}-`));
}

/** Writes a classic buildpack whose scripts are the given bash snippets. */
function writeBuildpack(dir: string, scripts: { detect?: string; compile?: string; release?: string }, mode = 0o755): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const defaults = { detect: 'echo Custom; exit 0', compile: 'true', release: 'echo "--- {}"' };
  for (const [name, body] of Object.entries({ ...defaults, ...scripts })) {
    const file = join(dir, 'bin', name);
    writeFileSync(file, `#!/usr/bin/env bash\nset -e\n${body}\n`);
    chmodSync(file, mode);
  }
  return dir;
}

function appWith(files: Record<string, string>): string {
  const dir = join(temp('app'), 'src');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

interface Built {
  result: BuildResult;
  output: string[];
  slugPath: string;
}

async function build(sourceDir: string, request: Partial<BuildpackBuildRequest> = {}, buildpacksCacheDir?: string): Promise<Built> {
  const work = temp('work');
  const output: string[] = [];
  const slugPath = join(work, 'slug.tgz');
  const builder = new BuildpackBuilder({ buildpacksCacheDir: buildpacksCacheDir ?? join(work, 'bp-cache') });
  try {
    const result = await builder.build({
      appId: 'id',
      appName: 'custom',
      sourceDir,
      cacheDir: join(work, 'cache'),
      buildpacks: [],
      env: {},
      slugPath,
      output: (line) => output.push(line),
      ...request,
    });
    return { result, output, slugPath };
  } catch (err) {
    (err as Error & { output?: string[] }).output = output;
    throw err;
  }
}

async function slugEntries(slugPath: string): Promise<string[]> {
  const listing = await exec('tar', ['-tzf', slugPath]);
  assert.equal(listing.code, 0, listing.stderr);
  return listing.stdout.split('\n').filter(Boolean);
}

test('a local buildpack path: detect name, compile output, release defaults, non-executable scripts fixed', async () => {
  const buildpack = writeBuildpack(
    join(temp('local'), 'bp'),
    {
      detect: 'echo "Hello Lang"',
      compile: 'echo "-----> Compiling hello"; echo "       build dir is app: $(test -f "$1/hello.txt" && echo yes)"; echo compiled > "$1/compiled.txt"; mkdir -p "$2/hello"; echo cached > "$2/hello/x"',
      release: 'printf -- "---\\ndefault_process_types:\\n  web: ./hello-server\\n  worker: ./hello-worker\\n"',
    },
    0o644,
  );
  const app = appWith({ 'hello.txt': 'hi', Procfile: 'worker: ./custom-worker\n' });
  const { result, output, slugPath } = await build(app, { buildpacks: [buildpack] });

  assert.equal(result.description, 'Hello Lang');
  assert.deepEqual(result.buildpacks, [buildpack]);
  assert.deepEqual(result.processTypes, { web: './hello-server', worker: './custom-worker' });
  const text = output.join('\n');
  assert.match(text, new RegExp(`^-----> Using buildpack: ${buildpack}$`, 'm'));
  assert.match(text, /^-----> Hello Lang app detected$/m);
  assert.match(text, /^-----> Compiling hello$/m);
  assert.match(text, /build dir is app: yes/);
  assert.match(text, /Procfile declares types -> worker/);
  assert.match(text, /Default types for buildpack -> web/);
  assert.ok((await slugEntries(slugPath)).includes('./compiled.txt'));
  // The user's buildpack directory is left as it was: scripts ran from a private copy.
  assert.equal(readdirSync(join(buildpack, 'bin')).length, 3);
});

test('a buildpack from a file:// git URL, with and without #ref, cached by URL', async () => {
  const repo = join(temp('gitbp'), 'bp');
  writeBuildpack(repo, { detect: 'echo "Git Pack v1"', compile: 'echo "       compiled by v1"' });
  await git(repo, 'init', '-q', '-b', 'main');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'v1');
  await git(repo, 'tag', 'v1');
  writeBuildpack(repo, { detect: 'echo "Git Pack v2"', compile: 'echo "       compiled by v2"' });
  await git(repo, 'commit', '-q', '-am', 'v2');

  const cache = temp('bpcache');
  const head = await build(appWith({ 'a.txt': 'a' }), { buildpacks: [`file://${repo}`] }, cache);
  assert.equal(head.result.description, 'Git Pack v2');
  assert.match(head.output.join('\n'), /compiled by v2/);
  assert.match(head.output.join('\n'), /-----> Fetching buildpack file:\/\//);

  const tagged = await build(appWith({ 'a.txt': 'a' }), { buildpacks: [`file://${repo}#v1`] }, cache);
  assert.equal(tagged.result.description, 'Git Pack v1');
  assert.match(tagged.output.join('\n'), /compiled by v1/);
  assert.equal(readdirSync(cache).length, 2, 'one cache directory per URL');

  await assert.rejects(build(appWith({ 'a.txt': 'a' }), { buildpacks: [`file://${repo}#no-such-branch`] }, temp('bpcache2')), (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, /no-such-branch/);
    return true;
  });
});

test('several buildpacks run in order; each one\'s export is sourced for the next', async () => {
  const first = writeBuildpack(join(temp('first'), 'bp'), {
    detect: 'echo First',
    compile: 'bp_dir="$(cd "$(dirname "$0")/.." && pwd)"; echo "export FROM_FIRST=handed-over" > "$bp_dir/export"; echo "       first ran"',
    release: 'printf -- "---\\ndefault_process_types:\\n  web: first-web\\n  clock: first-clock\\n"',
  });
  const second = writeBuildpack(join(temp('second'), 'bp'), {
    detect: 'echo Second',
    compile: 'echo "       second sees FROM_FIRST=${FROM_FIRST:-missing}"',
    release: 'printf -- "---\\ndefault_process_types:\\n  web: second-web\\n"',
  });
  const { result, output } = await build(appWith({ 'x.txt': 'x' }), { buildpacks: [first, second] });
  const text = output.join('\n');
  assert.ok(text.indexOf('first ran') < text.indexOf('second sees'), 'buildpacks run in the given order');
  assert.match(text, /second sees FROM_FIRST=handed-over/);
  assert.match(text, /^-----> Using buildpacks:$/m);
  assert.deepEqual(result.processTypes, { web: 'second-web', clock: 'first-clock' }, 'later buildpacks win');
  assert.equal(result.description, 'Second');
  assert.ok(!existsSync(join(first, 'export')), 'the export file was written in a private copy');
});

test('a given buildpack that does not detect is a clear error', async () => {
  const picky = writeBuildpack(join(temp('picky'), 'bp'), { detect: 'exit 1' });
  await assert.rejects(build(appWith({ 'x.txt': 'x' }), { buildpacks: [picky] }), (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, new RegExp(`Buildpack ${picky} does not apply to this app`));
    return true;
  });
});

test('unknown buildpack references are rejected with the accepted forms', async () => {
  await assert.rejects(build(appWith({ 'x.txt': 'x' }), { buildpacks: ['heroku/python'] }), /Unknown buildpack "heroku\/python": use a built-in name/);
  await assert.rejects(build(appWith({ 'x.txt': 'x' }), { buildpacks: ['/no/such/buildpack/dir'] }), /does not exist/);
});

test('built-in names work with and without the heroku/ prefix', async () => {
  const site = { 'index.html': '<h1>x</h1>', Procfile: 'worker: sleep 1\n' };
  const viaHeroku = await build(appWith(site), { buildpacks: ['heroku/static'] });
  assert.equal(viaHeroku.result.description, 'Static HTML');
  assert.deepEqual(viaHeroku.result.processTypes, { web: 'node .slipway/static-server.js', worker: 'sleep 1' });
  const both = await build(appWith(site), { buildpacks: ['static', 'procfile'] });
  assert.deepEqual(both.result.buildpacks, ['static', 'procfile']);
});

test('build processes get a cleared environment; config vars only through ENV_DIR, masked in output', async () => {
  process.env.SLIPWAY_PARENT_ONLY = 'must-not-leak';
  const inspector = writeBuildpack(join(temp('inspect'), 'bp'), {
    compile: [
      'echo "       env names: $(env | cut -d= -f1 | sort | tr "\\n" " ")"',
      'echo "       env dir: $(ls "$3" | tr "\\n" " ")"',
      'echo "       token is $(cat "$3/API_TOKEN")"',
      'echo "       stack is $STACK, source $SOURCE_VERSION"',
    ].join('\n'),
  });
  try {
    const { output } = await build(appWith({ 'x.txt': 'x' }), {
      buildpacks: [inspector],
      env: { API_TOKEN: 'tok_live_0123456789', SHORT: 'on' },
      sourceVersion: 'abc123def',
    });
    const text = output.join('\n');
    const names = text.match(/env names: (.*)/)![1].trim().split(' ');
    const allowed = new Set(['PATH', 'HOME', 'STACK', 'LANG', 'SOURCE_VERSION', 'PWD', 'SHLVL', '_', 'OLDPWD']);
    assert.deepEqual(names.filter((n) => !allowed.has(n)), [], 'nothing from the platform environment leaks in');
    assert.ok(!names.includes('API_TOKEN'), 'config vars are not in the environment');
    assert.match(text, /env dir: API_TOKEN SHORT/);
    assert.match(text, /token is \[MASKED\]/);
    assert.doesNotMatch(text, /tok_live_0123456789/);
    assert.doesNotMatch(text, /must-not-leak/);
    assert.match(text, /stack is slipway-24, source abc123def/);
  } finally {
    delete process.env.SLIPWAY_PARENT_ONLY;
  }
});

test('.slugignore removes matching files before compile', async () => {
  const app = appWith({
    '.slugignore': '# large things\n*.psd\n/docs/\ntests/\n!tests/keep.txt\nsecret-?.txt\n',
    'index.html': '<h1>x</h1>',
    'art/logo.psd': 'psd',
    'docs/guide.md': 'guide',
    'src/docs/inner.md': 'not anchored: stays',
    'tests/a.test.js': 'test',
    'lib/tests/b.test.js': 'nested tests dir',
    'secret-1.txt': 's',
    'secret-10.txt': 'stays',
  });
  const { output, slugPath } = await build(app);
  const entries = await slugEntries(slugPath);
  for (const gone of ['./art/logo.psd', './docs/guide.md', './tests/a.test.js', './lib/tests/b.test.js', './secret-1.txt']) {
    assert.ok(!entries.includes(gone), `${gone} should be removed`);
  }
  for (const kept of ['./index.html', './src/docs/inner.md', './secret-10.txt', './art/']) assert.ok(entries.includes(kept), `${kept} should stay`);
  assert.match(output.join('\n'), /-----> Deleting \d+ files matching \.slugignore patterns\./);
});

test('parseSlugignore follows .gitignore rules for anchors, directories and **', () => {
  const rules = parseSlugignore('/build\nlogs/\n**/tmp/*.log\n');
  const matches = (path: string) => rules.some((r) => r.regex.test(path));
  assert.ok(matches('build'));
  assert.ok(!matches('src/build'));
  assert.ok(matches('logs') && matches('a/logs'));
  assert.ok(matches('tmp/x.log') && matches('a/b/tmp/x.log'));
  assert.ok(!matches('tmp/x.txt'));
});

test('aborting a build kills the whole process group and fails with BuildError', async () => {
  const marker = join(temp('abort'), 'pids');
  const slow = writeBuildpack(join(temp('slow'), 'bp'), {
    compile: `sleep 300 & echo $! > ${marker}; echo "       started"; sleep 300`,
  });
  const controller = new AbortController();
  const work = temp('abort-work');
  const builder = new BuildpackBuilder({ buildpacksCacheDir: join(work, 'bpc') });
  const running = builder.build({
    appId: 'id',
    appName: 'slow',
    sourceDir: appWith({ 'x.txt': 'x' }),
    cacheDir: join(work, 'cache'),
    buildpacks: [slow],
    env: {},
    slugPath: join(work, 'slug.tgz'),
    signal: controller.signal,
    output: (line) => {
      if (line.includes('started')) controller.abort();
    },
  });
  await assert.rejects(running, (err: unknown) => {
    assert.ok(err instanceof BuildError);
    assert.match(err.message, /canceled/);
    return true;
  });
  const pid = Number(readFileSync(marker, 'utf8').trim());
  // The background child is gone too (killed with its group); allow the kernel to reap it.
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    try {
      process.kill(pid, 0);
      const state = await exec('ps', ['-o', 'stat=', '-p', String(pid)]);
      alive = state.stdout.trim() !== '' && !state.stdout.includes('Z');
      if (alive) await new Promise((r) => setTimeout(r, 50));
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, 'the background sleep was killed');
  assert.ok(!existsSync(join(work, 'slug.tgz')), 'no slug is written');
});

test('a buildpack with invalid release YAML is reported', async () => {
  const bad = writeBuildpack(join(temp('badyaml'), 'bp'), { release: 'echo "default_process_types: [unclosed"' });
  await assert.rejects(build(appWith({ 'x.txt': 'x' }), { buildpacks: [bad] }), /bin\/release printed invalid YAML/);
});
