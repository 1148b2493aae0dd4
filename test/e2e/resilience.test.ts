import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, viaRouter, recentLogs } from '../helpers/flow.js';

let s: Slipway;
before(async () => {
  s = await startSlipway();
});
after(async () => {
  await s?.destroy();
});

/** Pids of processes whose environment names this app (dynos run with HEROKU_APP_NAME). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

function dynoPids(app: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (env.split('\0').includes(`HEROKU_APP_NAME=${app}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

test('a crashing web dyno shows as crashed and is restarted with backoff', async () => {
  const { push } = await deployExample(s, 'crashy', 'crashing-app');
  assert.equal(push.code, 0, push.stderr);
  await waitFor('a crashed web.1', async () => {
    const dynos = await s.api('GET', '/apps/crashy/dynos');
    return dynos.body.some((d: any) => d.name === 'web.1' && d.state === 'crashed');
  });
  await waitFor('at least two starts', async () => {
    const logs = await recentLogs(s, 'crashy');
    return (logs.match(/app\[web\.1\]: crashing on purpose/g) ?? []).length >= 2;
  }, 30_000);
  const logs = await recentLogs(s, 'crashy');
  assert.match(logs, /slipway\[web\.1\]: Process exited with status 1/);
  assert.match(logs, /slipway\[web\.1\]: State changed from starting to crashed|State changed from up to crashed/);
  const res = await viaRouter(s, 'crashy');
  assert.equal(res.status, 503, 'no web dyno is up');
  await s.api('PATCH', '/apps/crashy/formation', { updates: [{ type: 'web', quantity: 0 }] });
});

test('after kill -9 of Slipway, dynos converge back to the formation without user action', async () => {
  const { push } = await deployExample(s, 'sturdy', 'node-app');
  assert.equal(push.code, 0, push.stderr);
  await s.api('PATCH', '/apps/sturdy/formation', { updates: [{ type: 'worker', quantity: 1 }] });
  await waitFor('worker up', async () => (await s.api('GET', '/apps/sturdy/dynos')).body.some((d: any) => d.name === 'worker.1' && d.state === 'up'));
  // A dyno is `up` as soon as its sandbox starts; its app process appears a moment later.
  const before = await waitFor('both dyno processes visible', async () => {
    const pids = dynoPids('sturdy');
    return pids.length >= 2 ? pids : undefined;
  });

  await s.kill();
  // The sandbox dies with its parent; nothing of the old dynos survives.
  // Gone = no process of the app left: a bare /proc/<pid> check would be fooled by a busy
  // machine (pid_max 32768) reusing one of those pids for an unrelated process.
  await waitFor('old dyno processes gone', () => before.every((pid) => !existsSync(`/proc/${pid}`) || !dynoPids('sturdy').includes(pid)), 15_000);
  await s.restart();

  await waitFor('web.1 and worker.1 up again', async () => {
    const dynos = await s.api('GET', '/apps/sturdy/dynos');
    const up = dynos.body.filter((d: any) => d.state === 'up').map((d: any) => d.name).sort();
    return up.join(',') === 'web.1,worker.1';
  });
  const res = await viaRouter(s, 'sturdy');
  assert.equal(res.status, 200);
  assert.match(res.body, /Hello from node-app/);
});

test('ps:restart replaces processes; ps:stop on a formation dyno brings it back', async () => {
  const first = dynoPids('sturdy');
  const restart = await s.api('DELETE', '/apps/sturdy/dynos');
  assert.equal(restart.status, 202);
  await waitFor('new processes', async () => {
    const now = dynoPids('sturdy');
    const dynos = await s.api('GET', '/apps/sturdy/dynos');
    return now.length > 0 && now.every((p) => !first.includes(p)) && dynos.body.every((d: any) => d.state === 'up');
  });
  const stop = await s.api('POST', '/apps/sturdy/dynos/worker.1/actions/stop');
  assert.equal(stop.status, 202);
  await waitFor('worker.1 back up', async () => (await s.api('GET', '/apps/sturdy/dynos')).body.some((d: any) => d.name === 'worker.1' && d.state === 'up'));
  const unknown = await s.api('DELETE', '/apps/sturdy/dynos/nope.3');
  assert.equal(unknown.status, 404);
  const logs = await recentLogs(s, 'sturdy');
  assert.match(logs, /web received SIGTERM, shutting down/, 'web dynos get SIGTERM and may shut down cleanly');
});

test('a detached one-off dyno runs with the app environment and logs its output', async () => {
  await s.api('PATCH', '/apps/sturdy/config-vars', { ONE_OFF_WORD: 'pelican' });
  // The new config runs once its release phase has passed.
  await waitFor('the config release to be current', async () => (await s.api('GET', '/apps/sturdy/releases')).body.at(-1).current);
  const res = await s.api('POST', '/apps/sturdy/dynos', { command: 'echo "word=$ONE_OFF_WORD dyno=$DYNO"', attach: false });
  assert.equal(res.status, 201, res.text);
  assert.match(res.body.name, /^run\.\d+$/);
  assert.equal(res.body.attach_url, null);
  await waitFor('one-off output in logs', async () => new RegExp(`app\\[${res.body.name.replace('.', '\\.')}\\]: word=pelican dyno=run\\.`).test(await recentLogs(s, 'sturdy')));
});

test('destroying an app stops its dynos and frees its name', async () => {
  const pids = dynoPids('sturdy');
  assert.ok(pids.length > 0);
  const res = await s.api('DELETE', '/apps/sturdy');
  assert.equal(res.status, 200);
  // Gone = no process of the app left (see above: pids get reused). A dyno that ignores SIGTERM
  // is killed after the 30 s grace, so that is the bound; the message names what is left.
  const left = () => pids.filter((pid) => existsSync(`/proc/${pid}`) && dynoPids('sturdy').includes(pid));
  await waitFor('dynos gone', () => left().length === 0, 40_000).catch((err: Error) => {
    throw new Error(`${err.message}; still running: ${left().map((pid) => `${pid} ${commandLine(pid)}`).join(', ')}`);
  });
  assert.equal((await s.api('GET', '/apps/sturdy')).status, 404);
  assert.equal((await viaRouter(s, 'sturdy')).status === 200, false);
  const again = await s.api('POST', '/apps', { name: 'sturdy' });
  assert.equal(again.status, 201);
});
