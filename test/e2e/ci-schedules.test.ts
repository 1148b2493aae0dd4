// Pipeline schedules, as GitLab's: a cron line in a time zone runs a ref's current commit with
// CI_PIPELINE_SOURCE=schedule, the schedule's variables and inputs, as its owner. A real server,
// real pushes, real shell jobs, the real CLI; a due run is made by moving the schedule's next
// run into the past in the store, while the server runs and while it is stopped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.js';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { adminCli } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

const CI = [
  'spec:',
  '  inputs:',
  '    suite:',
  '      default: smoke',
  '---',
  'nightly:',
  '  script: echo "nightly source=$CI_PIPELINE_SOURCE ref=$CI_COMMIT_REF_NAME suite=$[[ inputs.suite ]] depth=$DEPTH"',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "schedule"',
  'build:',
  '  script: echo build',
  '',
].join('\n');

before(async () => {
  s = await startSlipway({ SLIPWAY_SCHEDULE_CHECK_MS: '200' });
  p = await ProjectRepo.create(s, 'scheduled');
  await p.commit({ '.gitlab-ci.yml': CI });
  await p.push('main');
  await p.finishedPipeline('the push pipeline', (x) => x.source === 'push');
});

after(async () => {
  await s?.destroy();
});

const cli = (...args: string[]) => adminCli(s, ...args);

/** Moves a schedule's next run into the past, as if its time had come. */
async function makeDue(number: number): Promise<void> {
  const store = await openStore({ databaseUrl: s.env.DATABASE_URL, sqlitePath: join(s.dataDir, 'slipway.db') });
  try {
    const project = await store.db.selectFrom('projects').select('id').where('name', '=', p.name).executeTakeFirstOrThrow();
    const done = await store.db.updateTable('ci_schedules').set({ next_run_at: '2020-01-01T00:00:00.000Z' }).where('project_id', '=', project.id).where('number', '=', number).executeTakeFirst();
    assert.equal(Number(done.numUpdatedRows), 1);
  } finally {
    await store.close();
  }
}

const schedulePipelines = async () => ((await p.api('GET', '/pipelines')).body as any[]).filter((x) => x.source === 'schedule');

test('a schedule made with the CLI computes its next run in its time zone; run now, it starts a schedule pipeline with its variables and inputs', async () => {
  const created = await cli('ci:schedules:create', '-p', p.name, '--cron', '0 3 * * *', '--timezone', 'Europe/Paris', '-d', 'nightly', '--variable', 'DEPTH=full', '--input', 'suite=all');
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created pipeline schedule 1: 0 3 \* \* \* \(Europe\/Paris\) on main, next run/);

  const schedule = (await p.api('GET', '/pipeline_schedules/1')).body;
  assert.equal(schedule.active, true);
  assert.equal(schedule.ref, 'main');
  assert.deepEqual(schedule.variables, [{ key: 'DEPTH', value: 'full', variable_type: 'env_var' }]);
  assert.deepEqual(schedule.inputs, { suite: 'all' });
  const next = new Date(schedule.next_run_at);
  const inParis = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next);
  assert.equal(inParis, '03:00');
  assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 25 * 3600_000, schedule.next_run_at);

  const ran = await cli('ci:schedules:run', '1', '-p', p.name);
  assert.equal(ran.code, 0, ran.stderr);
  const m = /Pipeline #(\d+):/.exec(ran.stdout);
  assert.ok(m, ran.stdout);
  const pipeline = await p.finishedPipeline('the played schedule pipeline', (x) => x.id === Number(m[1]));
  assert.equal(pipeline.source, 'schedule');
  assert.equal(pipeline.status, 'success');
  assert.deepEqual(pipeline.jobs.map((j: any) => j.name).sort(), ['build', 'nightly']);
  assert.match(await p.jobLog(pipeline, 'nightly'), /nightly source=schedule ref=main suite=all depth=full/);
  // Playing leaves the timed run where it was.
  const after = (await p.api('GET', '/pipeline_schedules/1')).body;
  assert.equal(after.next_run_at, schedule.next_run_at);
  assert.equal(after.last_pipeline.id, pipeline.id);

  const listed = await cli('ci:schedules', '-p', p.name);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /1\s+nightly\s+0 3 \* \* \* \(Europe\/Paris\)\s+main\s+next .*#\d+ success/);
});

test('a due schedule runs once, then waits for its next time; one missed while Slipway was down runs once on start', async () => {
  const created = await p.api('POST', '/pipeline_schedules', { cron: '@daily', description: 'daily', variables: { DEPTH: 'timer' } });
  assert.equal(created.status, 201, created.text);
  const number = created.body.id;
  const before = (await schedulePipelines()).length;

  await makeDue(number);
  const first = await waitFor('the due schedule to start a pipeline', async () => {
    const found = await schedulePipelines();
    return found.length > before ? found : undefined;
  }, 30_000, 100);
  assert.equal(first.length, before + 1, 'one pipeline per due time');
  const pipeline = await p.finishedPipeline('the timed pipeline', (x) => x.id === first[0].id);
  assert.match(await p.jobLog(pipeline, 'nightly'), /suite=smoke depth=timer/);
  const moved = (await p.api('GET', `/pipeline_schedules/${number}`)).body;
  assert.ok(Date.parse(moved.next_run_at) > Date.now(), `next run moved on: ${moved.next_run_at}`);
  assert.match(moved.next_run_at, /T00:00:00\.000Z$/);
  assert.equal(moved.last_pipeline.id, pipeline.id);

  // Down at the due time (here: a due time set while stopped): one run when it is back.
  await s.stop();
  await makeDue(number);
  await s.restart();
  const second = await waitFor('the missed schedule to run after the restart', async () => {
    const found = await schedulePipelines();
    return found.length > before + 1 ? found : undefined;
  }, 30_000, 100);
  await p.finishedPipeline('the catch-up pipeline', (x) => x.id === second[0].id);
  assert.equal((await schedulePipelines()).length, before + 2);
});

test('bad schedules are refused with what to fix; inactive ones have no next run; delete keeps the pipelines', async () => {
  const cases: [unknown, number, RegExp][] = [
    [{ cron: '61 * * * *' }, 422, /is not a valid cron line/],
    [{ cron: '* * * *' }, 422, /give five fields/],
    [{ cron: '0 3 * * *', cron_timezone: 'Mars/Olympus' }, 422, /is not a time zone: use an IANA name/],
    [{ cron: '0 3 * * *', ref: 'nowhere' }, 400, /has no branch or tag named nowhere/],
    [{ cron: '0 3 * * *', active: 'yes' }, 422, /active must be true or false/],
    [{ description: 'no cron' }, 422, /needs a cron line/],
  ];
  for (const [body, status, message] of cases) {
    const res = await p.api('POST', '/pipeline_schedules', body);
    assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
    assert.match(res.body.message, message);
  }
  const noCron = await cli('ci:schedules:create', '-p', p.name);
  assert.notEqual(noCron.code, 0);
  assert.match(noCron.stderr, /Pass --cron/);

  const made = await cli('ci:schedules:create', '-p', p.name, '--cron', '*/5 * * * *', '--inactive', '--json');
  assert.equal(made.code, 0, made.stderr);
  const schedule = JSON.parse(made.stdout);
  assert.equal(schedule.active, false);
  assert.equal(schedule.next_run_at, null);
  const activated = await cli('ci:schedules:update', String(schedule.id), '-p', p.name, '--active', '--json');
  assert.equal(activated.code, 0, activated.stderr);
  const next = JSON.parse(activated.stdout).next_run_at;
  assert.ok(next && Date.parse(next) > Date.now() && new Date(next).getUTCMinutes() % 5 === 0, next);

  const pipelinesBefore = ((await p.api('GET', '/pipelines')).body as any[]).length;
  const deleted = await cli('ci:schedules:delete', String(schedule.id), '-p', p.name);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal((await p.api('GET', `/pipeline_schedules/${schedule.id}`)).status, 404);
  assert.equal(((await p.api('GET', '/pipelines')).body as any[]).length, pipelinesBefore);
});
