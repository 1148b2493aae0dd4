/**
 * The official heroku CLI (npm heroku@11.10.0, unchanged) driving dynos on one Slipway
 * server: ps, ps:scale (absolute, relative, with sizes), ps:restart, ps:stop, ps:wait, logs
 * (recent and --tail), run over the TLS rendezvous (stdin, -x exit codes), run:detached.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';
import type { ExecResult } from '../helpers/exec.js';
import { deployExample, viaRouter } from '../helpers/flow.js';

const APP = 'cli-dynos';

let s: Slipway;
let heroku: HerokuCli;

before(async () => {
  s = await startSlipway();
  const [{ push }, cli] = await Promise.all([deployExample(s, APP, 'node-app'), herokuCli(s)]);
  assert.equal(push.code, 0, push.stderr);
  heroku = cli;
  await waitFor('web.1 up', async () => (await s.api('GET', `/apps/${APP}/dynos/web.1`)).body?.state === 'up', 60_000, 250);
});
after(async () => {
  await s?.destroy();
});

const flat = (text: string) => text.replace(/[›▸]/g, ' ').replace(/\s+/g, ' ');

async function ok(args: string[], options: { input?: string } = {}): Promise<ExecResult> {
  const res = await heroku.run([...args, '-a', APP], options);
  assert.equal(res.code, 0, `heroku ${args.join(' ')} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

interface Dyno {
  id: string;
  name: string;
  type: string;
  state: string;
  release: { version: number };
}

async function dynos(): Promise<Dyno[]> {
  return (await s.api('GET', `/apps/${APP}/dynos`)).body;
}

/** Waits until the app runs exactly `counts` up dynos per type (one-offs ignored). */
async function waitForFormation(counts: Record<string, number>): Promise<Dyno[]> {
  return waitFor(`dynos ${JSON.stringify(counts)}`, async () => {
    const list = (await dynos()).filter((d) => d.type !== 'run' && d.type !== 'release');
    const up = list.filter((d) => d.state === 'up');
    const matches = Object.entries(counts).every(([type, n]) => up.filter((d) => d.type === type).length === n) && list.length === up.length;
    return matches && up.length === Object.values(counts).reduce((a, b) => a + b, 0) ? up : undefined;
  }, 90_000, 250);
}

test('ps shows the running dynos', async () => {
  const ps = await ok(['ps']);
  assert.match(ps.stdout, /=== web \(Basic\): node server\.js \(1\)/);
  assert.match(ps.stdout, /web\.1: up /);
});

test('ps:scale with absolute, relative and sized quantities', async () => {
  const scaled = await ok(['ps:scale', 'web=2', 'worker=1']);
  assert.match(scaled.stderr, /now running web at 2:Basic, worker at 1:Basic/);
  await waitForFormation({ web: 2, worker: 1 });
  const formation = (await s.api('GET', `/apps/${APP}/formation`)).body;
  assert.deepEqual(Object.fromEntries(formation.map((f: any) => [f.type, f.quantity])), { web: 2, worker: 1 });

  const relative = await ok(['ps:scale', 'web-1', 'worker+1']);
  assert.match(relative.stderr, /now running web at 1:Basic, worker at 2:Basic/);
  const up = await waitForFormation({ web: 1, worker: 2 });
  assert.deepEqual(up.map((d) => d.name).sort(), ['web.1', 'worker.1', 'worker.2']);

  const sized = await ok(['ps:scale', 'worker=1:Standard-1X']);
  assert.match(sized.stderr, /now running worker at 1:Standard-1X/);
  await waitForFormation({ web: 1, worker: 1 });

  const listing = await ok(['ps:scale']);
  assert.match(listing.stdout, /web=1:Basic worker=1:Standard-1X/);
  const ps = await ok(['ps']);
  assert.match(ps.stdout, /=== worker \(Standard-1X\): node worker\.js \(1\)/);

  const bad = await heroku.run(['ps:scale', 'nope=1', '-a', APP]);
  assert.notEqual(bad.code, 0);
  assert.match(flat(bad.stderr), /nope/);
});

test('ps:restart restarts all dynos, a type or one dyno', async () => {
  const before = await waitForFormation({ web: 1, worker: 1 });
  const restarted = await ok(['ps:restart']);
  assert.match(restarted.stderr, new RegExp(`Restarting all dynos on ${APP}\\.\\.\\. done`));
  const after = await waitForFormation({ web: 1, worker: 1 });
  for (const dyno of before) {
    assert.notEqual(after.find((d) => d.name === dyno.name)?.id, dyno.id, `${dyno.name} is a new process`);
  }

  await ok(['ps:restart', '--process-type', 'worker']);
  const afterType = await waitForFormation({ web: 1, worker: 1 });
  assert.equal(afterType.find((d) => d.name === 'web.1')?.id, after.find((d) => d.name === 'web.1')?.id, 'web was left alone');
  assert.notEqual(afterType.find((d) => d.name === 'worker.1')?.id, after.find((d) => d.name === 'worker.1')?.id);

  await ok(['ps:restart', '--dyno-name', 'web.1']);
  const afterOne = await waitForFormation({ web: 1, worker: 1 });
  assert.notEqual(afterOne.find((d) => d.name === 'web.1')?.id, afterType.find((d) => d.name === 'web.1')?.id);
  assert.equal((await viaRouter(s, APP)).status, 200);
});

test('ps:stop stops a dyno (the formation brings it back) and a one-off dyno for good', async () => {
  const before = await waitForFormation({ web: 1, worker: 1 });
  const stopped = await ok(['ps:stop', '--dyno-name', 'worker.1']);
  assert.match(stopped.stderr, /Stopping dyno worker\.1/);
  const after = await waitForFormation({ web: 1, worker: 1 });
  assert.notEqual(after.find((d) => d.name === 'worker.1')?.id, before.find((d) => d.name === 'worker.1')?.id);

  const detached = await ok(['run:detached', 'sleep 600']);
  const name = /done, (run\.\d+)/.exec(detached.stderr)?.[1];
  assert.ok(name, `run:detached names the dyno: ${detached.stderr}`);
  await waitFor(`${name} up`, async () => (await dynos()).find((d) => d.name === name)?.state === 'up', 30_000, 250);
  await ok(['ps:stop', '--dyno-name', name]);
  await waitFor(`${name} gone`, async () => !(await dynos()).some((d) => d.name === name), 30_000, 250);
});

test('ps:wait returns once every dyno runs the latest release', async () => {
  await ok(['config:set', 'WAIT_MARK=1']);
  const wait = await ok(['ps:wait']);
  const latest = (await s.api('GET', `/apps/${APP}/releases`, undefined, { Range: 'version ..; max=1, order=desc' })).body[0];
  assert.equal(latest.status, 'succeeded');
  const list = (await dynos()).filter((d) => d.type !== 'run' && d.type !== 'release');
  assert.ok(list.length > 0);
  for (const dyno of list) {
    assert.equal(dyno.state, 'up', `${dyno.name} is up after ps:wait:\n${wait.stderr}`);
    assert.ok(dyno.release.version >= latest.version, `${dyno.name} runs v${dyno.release.version}, the latest is v${latest.version}`);
  }
});

test('logs shows recent lines; logs --tail follows new ones', async () => {
  assert.equal((await viaRouter(s, APP, '/health?recent-log-line')).status, 200);
  const recent = await waitFor('the request in the logs', async () => {
    const res = await ok(['logs', '-n', '200']);
    return /app\[web\.1\]: GET \/health\?recent-log-line/.test(res.stdout) ? res : undefined;
  }, 30_000, 500);
  assert.match(recent.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+\+00:00 (app|slipway|heroku)\[[\w.]+\]: /m);

  const workerOnly = await ok(['logs', '-n', '50', '--dyno', 'worker']);
  const lines = workerOnly.stdout.trim().split('\n').filter(Boolean);
  assert.ok(lines.length > 0);
  for (const line of lines) assert.match(line, /\[worker\.\d+\]/);

  const tail = heroku.start(['logs', '--tail', '-a', APP]);
  try {
    // A line that happens after the tail started must show up in it.
    await waitFor('the tail to connect', async () => /worker tick|app\[/.test(tail.output()), 30_000, 100);
    await viaRouter(s, APP, '/health?while-tailing');
    await waitFor('the new line in the tail', async () => tail.output().includes('GET /health?while-tailing'), 30_000, 100);
  } finally {
    await tail.stop();
  }
});

test('run attaches over TLS: output, stdin, and -x exit codes', async () => {
  const hello = await ok(['run', 'echo "hi from $DYNO in $PWD"']);
  assert.match(hello.stdout, /hi from run\.\d+ in \/app/);

  const echoed = await ok(['run', 'tr a-z A-Z'], { input: 'shout this\n' });
  assert.match(echoed.stdout, /SHOUT THIS/);

  const exit3 = await heroku.run(['run', '-x', 'exit 3', '-a', APP]);
  assert.equal(exit3.code, 3, `${exit3.stdout}\n${exit3.stderr}`);
  const failed = await heroku.run(['run', '-x', 'echo before; false', '-a', APP]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, /before/);
  assert.doesNotMatch(failed.stdout, /heroku-command-exit-status/);
  const zero = await heroku.run(['run', '-x', 'echo fine', '-a', APP]);
  assert.equal(zero.code, 0, zero.stderr);
  assert.match(zero.stdout, /fine/);

  // -e adds environment variables; config vars are there too.
  const env = await ok(['run', '-e', 'EXTRA=yes', 'echo "$EXTRA $WAIT_MARK"']);
  assert.match(env.stdout, /yes 1/);
});

test('run:detached sends its output to the logs', async () => {
  const detached = await ok(['run:detached', 'echo detached-output-$((6*7))']);
  const name = /done, (run\.\d+)/.exec(detached.stderr)?.[1];
  assert.ok(name, detached.stderr);
  const logs = await waitFor('the detached output in the logs', async () => {
    const res = await ok(['logs', '-n', '100', '--dyno', name!]);
    return res.stdout.includes('detached-output-42') ? res : undefined;
  }, 30_000, 500);
  assert.match(logs.stdout, new RegExp(`app\\[${name!.replace('.', '\\.')}\\]: detached-output-42`));
});
