import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { collect, makeSlug, MODES, pidsWithMarker, run, runtime, spec, tempDir, waitFor } from './runtime-fixtures.test.js';

/** What a dyno can and cannot see. The sandbox guarantees hold in bwrap mode only; plain mode says so. */

for (const mode of MODES) {
  describe(`dyno isolation (${mode})`, () => {
    test("another app's /app and Slipway's data dir are out of sight", async () => {
      const rt = await runtime(mode);
      const secret = await makeSlug({ 'secret.txt': 'app one secret\n' });
      const other = await makeSlug({ 'x.txt': '' });
      const one = await rt.start(spec(secret, 'echo ready; sleep 600', { appName: 'one' }));
      const oneDone = collect(one);
      await waitFor(one, 'ready');
      const dynoDir = join(rt.dataDir, 'run', 'dynos', one.spec.id);
      const probe = [
        `test -e ${dynoDir}/app/secret.txt && echo sees-dyno || echo no-dyno`,
        `test -e ${rt.dataDir} && echo sees-data || echo no-data`,
        `cat ${rt.dataDir}/run/slugs/${secret.id}/secret.txt 2>/dev/null || echo no-slug`,
      ].join('; ');
      const two = await run(rt, spec(other, probe, { appName: 'two' }));
      if (mode === 'bwrap') assert.equal(two.stdout, 'no-dyno\nno-data\nno-slug\n');
      else assert.equal(two.stdout, 'sees-dyno\nsees-data\napp one secret\n'); // why plain mode warns
      await one.stop(5000);
      await oneDone;
    });

    test('config values reach the dyno but no command line', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const secret = `cmdline-secret-${randomBytes(8).toString('hex')}`;
      const proc = await rt.start(spec(slug, 'echo "length=${#API_TOKEN}"; echo ready; sleep 600', { env: { PORT: '5000', API_TOKEN: secret } }));
      const done = collect(proc);
      await waitFor(proc, 'ready');
      // Every process on the host, the launcher (bwrap) and the app included.
      assert.deepEqual(pidsWithMarker(secret), []);
      await proc.stop(5000);
      assert.match((await done).stdout, new RegExp(`^length=${secret.length}$`, 'm'));
    });

    test('/tmp is private to each dyno', async () => {
      const rt = await runtime(mode);
      const slug = await makeSlug({ 'x.txt': '' });
      const hostMarker = join(tempDir(), 'host-marker');
      writeFileSync(hostMarker, 'host');
      const marker = `/tmp/slipway-marker-${process.pid}-${Date.now()}`;
      const writer = await rt.start(spec(slug, `echo one > ${marker}; echo ready; sleep 600`));
      const writerDone = collect(writer);
      await waitFor(writer, 'ready');
      const reader = await run(rt, spec(slug, `cat ${marker} 2>/dev/null || echo unseen; test -e ${hostMarker} && echo host-visible || echo host-hidden`));
      if (mode === 'bwrap') assert.equal(reader.stdout, 'unseen\nhost-hidden\n');
      else assert.equal(reader.stdout, 'one\nhost-visible\n');
      await writer.stop(5000);
      await writerDone;
    });
  });
}

describe('bubblewrap sandbox', () => {
  test('has its own PID namespace, hostname, IPC and no capabilities', async () => {
    const rt = await runtime('bwrap');
    const slug = await makeSlug({ 'x.txt': '' });
    const result = await run(
      rt,
      spec(slug, 'echo "pid=$$"; ls /proc | grep -c "^[0-9]"; hostname; grep CapEff /proc/self/status', { name: 'worker.2' }),
    );
    const [pid, count, host, caps] = result.stdout.trim().split('\n');
    assert.equal(pid, 'pid=2');
    assert.ok(Number(count) <= 4, `only the sandbox's own processes are visible, saw ${count}`);
    assert.equal(host, 'worker.2');
    assert.match(caps!, /CapEff:\s+0+$/);
  });

  test('the system is read-only, secrets in /etc are hidden, /app and /tmp are writable', async () => {
    const rt = await runtime('bwrap');
    const slug = await makeSlug({ 'x.txt': '' });
    const script = [
      'touch /usr/slipway-probe 2>/dev/null && echo usr-writable || echo usr-ro',
      'touch /etc/slipway-probe 2>/dev/null && echo etc-writable || echo etc-ro',
      'test -s /etc/shadow && echo shadow-visible || echo shadow-hidden',
      'touch /app/new && echo app-rw',
      'touch /tmp/new && echo tmp-rw',
      'node --version >/dev/null && echo node-ok',
    ].join('; ');
    const result = await run(rt, spec(slug, script));
    assert.equal(result.stdout, 'usr-ro\netc-ro\nshadow-hidden\napp-rw\ntmp-rw\nnode-ok\n', result.stderr);
  });
});
