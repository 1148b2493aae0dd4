import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { collect, makeSlug, MODES, pidsWithMarker, runtime, spec, tempDir, waitFor } from './runtime-fixtures.test.js';

/** Stopping, killing, memory limits and orphan cleanup, with real process trees. */

/** Independent of the runtime's own detection: is our memory cgroup (v1 or v2) writable? */
function memoryCgroupWritable(): boolean {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    const candidates =
      controllers?.split(',').includes('memory') ? [`/sys/fs/cgroup/memory${path}`]
      : line.startsWith('0::') ? [`/sys/fs/cgroup${path}`, `/sys/fs/cgroup/unified${path}`]
      : [];
    for (const dir of candidates) {
      try {
        accessSync(dir, constants.W_OK);
        if (controllers === '' && !readFileSync(join(dir, 'cgroup.controllers'), 'utf8').includes('memory')) continue;
        return true;
      } catch {
        // not this one
      }
    }
  }
  return false;
}

function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

const marker = () => `slipway-marker-${process.pid}-${Math.random().toString(36).slice(2)}`;
/** The marker as shell text that does not contain it literally, so only the renamed process matches. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(check(), what);
}

const sh = (m: string) => `'${m.slice(0, 8)}''${m.slice(8)}'`;

for (const mode of MODES) {
  describe(`process lifecycle (${mode})`, () => {
    test('stop() lets a SIGTERM handler finish the app', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({
        'server.js': "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n",
      });
      const proc = await rt.start(spec(slug, 'node server.js'));
      const done = collect(proc);
      await waitFor(proc, 'ready');
      const status = await proc.stop(30_000);
      assert.deepEqual({ code: status.code, signal: status.signal }, { code: 0, signal: null });
      assert.equal((await done).stdout, 'ready\ngot SIGTERM\n');
    });

    test('an app that ignores SIGTERM is SIGKILLed after the grace period', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({
        'server.js': "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n",
      });
      const proc = await rt.start(spec(slug, 'node server.js'));
      const done = collect(proc);
      await waitFor(proc, 'ready');
      const status = await proc.stop(500);
      assert.equal(status.signal, 'SIGKILL');
      assert.equal(status.oomKilled ?? false, false);
      assert.equal((await done).stdout, 'ready\nignoring SIGTERM\n');
    });

    test("the app's children die with it: on stop and when the app exits by itself", async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const [a, b] = [marker(), marker()];
      // One plain child and one that escapes into its own session, like a daemon.
      const children = `(exec -a ${sh(a)} sleep 600) & setsid bash -c "(exec -a ${sh(b)} sleep 600) &"`;
      const stopped = await rt.start(spec(slug, `${children}; echo ready; wait`));
      const stoppedDone = collect(stopped);
      await waitFor(stopped, 'ready');
      await eventually(() => pidsWithMarker(a).length + pidsWithMarker(b).length === 2, 'both children run');
      await stopped.stop(5000);
      await stoppedDone;
      assert.deepEqual([...pidsWithMarker(a), ...pidsWithMarker(b)], []);

      const [c, d] = [marker(), marker()];
      const leaver = await rt.start(spec(slug, `(exec -a ${sh(c)} sleep 600) & setsid bash -c "(exec -a ${sh(d)} sleep 600) &"; sleep 0.2; echo bye`));
      const result = await collect(leaver);
      assert.equal(result.stdout, 'bye\n');
      assert.deepEqual([...pidsWithMarker(c), ...pidsWithMarker(d)], []);
    });

    test('the memory limit kills a process that allocates beyond it and says so', async () => {
      const rt = await runtime(mode);
      if (!memoryCgroupWritable()) {
        assert.equal(rt.cgroupVersion, undefined);
        assert.match(rt.isolation, /no memory limits/);
        return;
      }
      assert.ok(rt.cgroupVersion, `a memory cgroup is writable here, but the runtime found none: ${rt.isolation}`);
      const slug = await makeSlug({
        'hog.js': "const keep = [];\nfor (;;) keep.push(Buffer.alloc(8 << 20, 1));\n",
        'small.js': "const keep = Buffer.alloc(8 << 20, 1);\nconsole.log('fine', keep.length);\n",
      });
      const hog = await collect(await rt.start(spec(slug, 'node hog.js', { memoryMb: 96 })));
      assert.equal(hog.status.signal, 'SIGKILL');
      assert.equal(hog.status.oomKilled, true);
      const small = await collect(await rt.start(spec(slug, 'node small.js', { memoryMb: 96 })));
      assert.equal(small.status.code, 0, small.stderr);
      assert.equal(small.status.oomKilled, false);
    });

    test('cleanupOrphans kills processes recorded by an earlier runtime on the same data dir', async () => {
      const dataDir = tempDir('slipway-data-');
      const first = await runtime(mode, dataDir);
      const slug = await makeSlug({ 'x.txt': '' });
      const [app, child] = [marker(), marker()];
      const proc = await first.start(spec(slug, `(exec -a ${sh(child)} sleep 600) & echo ready; exec -a ${sh(app)} sleep 600`));
      const done = collect(proc);
      await waitFor(proc, 'ready');
      await eventually(() => pidsWithMarker(app).length + pidsWithMarker(child).length === 2, 'app and child run');
      const before = [...pidsWithMarker(app), ...pidsWithMarker(child)];
      assert.equal(readdirSync(join(dataDir, 'run', 'procs')).length, 1);

      // A new Slipway process starting on the same data dir after a crash.
      const second = await runtime(mode, dataDir);
      await second.cleanupOrphans();
      assert.deepEqual([...pidsWithMarker(app), ...pidsWithMarker(child)], []); // dead (at most zombies)
      assert.deepEqual(readdirSync(join(dataDir, 'run', 'procs')), []);
      assert.deepEqual(readdirSync(join(dataDir, 'run', 'dynos')), []);
      // The first runtime lives on in this test process: it sees the kill and reaps the zombies.
      assert.equal((await done).status.signal, 'SIGKILL');
      // Re-parented children are reaped by the host's init, so a zombie may linger: it is dead.
      for (const pid of before) assert.equal(running(pid), false, `pid ${pid} is gone`);
    });

    test('cleanupOrphans leaves its own running processes alone', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const proc = await rt.start(spec(slug, 'echo ready; sleep 600'));
      const done = collect(proc);
      await waitFor(proc, 'ready');
      await rt.cleanupOrphans();
      assert.equal(existsSync(join(rt.dataDir, 'run', 'dynos', proc.spec.id, 'app')), true);
      const status = await proc.stop(5000);
      assert.equal(status.signal, 'SIGTERM');
      await done;
    });
  });
}
