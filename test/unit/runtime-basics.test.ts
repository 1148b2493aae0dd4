import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect, makeSlug, MODES, run, runtime, spec, tempDir, waitFor } from './runtime-fixtures.test.js';

const PRINT_ENV = 'node -e "process.stdout.write(JSON.stringify(process.env))"';
// bash itself always exports these three to the commands it runs (as on Heroku).
const BASH_VARS = ['PWD', 'SHLVL', '_'];

for (const mode of MODES) {
  describe(`local runtime (${mode})`, () => {
    test('reports its isolation honestly', async () => {
      const rt = await runtime(mode);
      assert.equal(rt.sandboxed, mode === 'bwrap');
      if (mode === 'bwrap') assert.match(rt.isolation, /^bubblewrap sandbox/);
      else assert.match(rt.isolation, /no sandbox.*install bubblewrap/);
    });

    test('captures stdout and stderr and the exit code', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'main.sh': 'echo "out $1"; echo "err $1" >&2; exit 3\n' });
      const result = await run(rt, spec(slug, 'bash main.sh hello'));
      assert.equal(result.stdout, 'out hello\n');
      assert.equal(result.stderr, 'err hello\n');
      assert.deepEqual({ code: result.status.code, signal: result.status.signal }, { code: 3, signal: null });
    });

    test('reports death by signal as a signal', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const result = await run(rt, spec(slug, 'kill -TERM $$'));
      assert.deepEqual({ code: result.status.code, signal: result.status.signal }, { code: null, signal: 'SIGTERM' });
    });

    test('the environment is exactly the spec env plus HOME and PATH defaults', async () => {
      process.env.SLIPWAY_TEST_MUST_NOT_LEAK = 'leak';
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const env = { PORT: '5123', DYNO: 'web.1', DATABASE_URL: 'postgres://u:p@h/db', 'WITH SPACE': 'a b' };
      const result = await run(rt, spec(slug, PRINT_ENV, { env }));
      assert.equal(result.status.code, 0, result.stderr);
      const seen = JSON.parse(result.stdout) as Record<string, string>;
      const home = mode === 'bwrap' ? '/app' : seen.PWD!;
      assert.equal(seen.PWD, home);
      for (const name of BASH_VARS) delete seen[name];
      assert.deepEqual(seen, { ...env, HOME: home, PATH: '/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin' });
      if (mode === 'none') assert.match(home, /\/run\/dynos\/[^/]+\/app$/);
    });

    test('a PATH and HOME given in the spec are used as they are', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const result = await run(rt, spec(slug, 'echo "$HOME|$PATH"', { env: { HOME: '/nowhere', PATH: '/usr/bin:/bin' } }));
      assert.equal(result.stdout, '/nowhere|/usr/bin:/bin\n');
    });

    test('sources .profile.d/*.sh and .profile before the command, in /app', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({
        '.profile.d/10-one.sh': 'export FROM_PROFILE_D="one:$PORT"\n',
        '.profile.d/20-two.sh': 'export SECOND="$FROM_PROFILE_D+two"\n',
        '.profile.d/ignored.txt': 'export IGNORED=yes\n',
        '.profile': 'export FROM_PROFILE=yes\n',
      });
      const result = await run(rt, spec(slug, 'echo "$SECOND $FROM_PROFILE ${IGNORED:-none}"; test "$(pwd)" = "$HOME" && echo cwd-ok'));
      assert.equal(result.stdout, 'one:5000+two yes none\ncwd-ok\n', result.stderr);
    });

    test('the command keeps the pid: the app is exec-ed, not a child of a shell', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ '.profile.d/a.sh': 'export A=1\n' });
      const proc = await rt.start(spec(slug, 'node -e "console.log(process.pid, process.ppid)"'));
      const result = await collect(proc);
      const [pid] = result.stdout.trim().split(' ').map(Number);
      // Sandboxed the app is pid 2 in its namespace (bwrap's init is 1); plain, it is the spawned pid.
      assert.equal(pid, mode === 'bwrap' ? 2 : proc.pid);
    });

    test('stdin is closed unless interactive; interactive stdin reaches the app', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const closed = await run(rt, spec(slug, 'cat; echo eof'));
      assert.equal(closed.stdout, 'eof\n');
      const proc = await rt.start(spec(slug, 'read line; echo "got $line"', { interactive: true, name: 'run.1' }));
      const result = collect(proc);
      proc.stdin.end('hello\n');
      assert.equal((await result).stdout, 'got hello\n');
    });

    test("a dyno's writes to /app are its own", async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'shared.txt': 'original\n' });
      const writer = await rt.start(spec(slug, 'echo changed > shared.txt; echo new > mine.txt; echo ready; sleep 600'));
      const writerDone = collect(writer);
      await waitFor(writer, 'ready');
      const reader = await run(rt, spec(slug, 'cat shared.txt; cat mine.txt 2>/dev/null || echo no-mine'));
      assert.equal(reader.stdout, 'original\nno-mine\n');
      assert.equal(readFileSync(join(rt.dataDir, 'run', 'slugs', slug.id, 'shared.txt'), 'utf8'), 'original\n');
      await writer.stop(5000);
      await writerDone;
    });

    test('removes the dyno directory and record after exit, and extracts a slug once for concurrent starts', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': 'x' });
      const results = await Promise.all([1, 2, 3].map((n) => run(rt, spec(slug, 'cat x.txt', { name: `web.${n}` }))));
      for (const r of results) assert.equal(r.stdout, 'x');
      assert.deepEqual(readdirSync(join(rt.dataDir, 'run', 'slugs')), [slug.id]);
      assert.deepEqual(readdirSync(join(rt.dataDir, 'run', 'dynos')), []);
      assert.deepEqual(readdirSync(join(rt.dataDir, 'run', 'procs')), []);
      await rt.forgetSlug(slug.id);
      assert.equal(existsSync(join(rt.dataDir, 'run', 'slugs', slug.id)), false);
    });

    test('a missing or broken slug fails start with a clear error and leaves nothing behind', async () => {
      const rt = await runtime(mode);
      const dir = tempDir();
      await assert.rejects(rt.start(spec({ id: 'missing', path: join(dir, 'nope.tgz') }, 'true')), /slug tarball not found/);
      const broken = join(dir, 'broken.tgz');
      (await import('node:fs')).writeFileSync(broken, 'not a tarball');
      await assert.rejects(rt.start(spec({ id: 'broken', path: broken }, 'true')), /cannot extract slug/);
      await assert.rejects(rt.start(spec({ id: '../evil', path: broken }, 'true')), /invalid slug id/);
      assert.deepEqual(readdirSync(join(rt.dataDir, 'run', 'slugs')), []);
    });
  });
}
