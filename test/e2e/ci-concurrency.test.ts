// SLIPWAY_CI_CONCURRENCY: how many CI jobs run at once across the server's pipelines. With 1,
// jobs that could run side by side run one after the other (the others wait `pending`); a value
// that is not a whole number of at least 1 keeps the server from starting, saying why.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, startSlipway, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;

before(async () => {
  s = await startSlipway({ SLIPWAY_CI_CONCURRENCY: '1' });
});

after(async () => {
  await s?.destroy();
});

test('SLIPWAY_CI_CONCURRENCY=1 runs one job at a time, also across pipelines', async () => {
  const ci = ['a:', '  script: sleep 1', 'b:', '  script: sleep 1', 'c:', '  script: sleep 1', ''].join('\n');
  const one = await ProjectRepo.create(s, 'slots-one');
  const two = await ProjectRepo.create(s, 'slots-two');
  await one.commit({ '.gitlab-ci.yml': ci });
  await two.commit({ '.gitlab-ci.yml': ci });
  await Promise.all([one.push('main'), two.push('main')]);
  const pipelines = await Promise.all([one, two].map((p) => p.finishedPipeline('the pipeline', (x) => x.ref === 'main')));
  const jobs = pipelines.flatMap((p) => p.jobs as any[]);
  assert.equal(jobs.length, 6);
  for (const job of jobs) assert.equal(job.status, 'success', JSON.stringify(job));
  const spans = jobs.map((j) => [Date.parse(j.started_at), Date.parse(j.finished_at)] as const).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) {
    assert.ok(spans[i][0] >= spans[i - 1][1], `two jobs ran at once: ${JSON.stringify(jobs.map((j) => [j.name, j.started_at, j.finished_at]))}`);
  }
});

test('an invalid SLIPWAY_CI_CONCURRENCY keeps the server from starting', async () => {
  const data = mkdtempSync(join(tmpdir(), 'slipway-bad-concurrency-'));
  try {
    for (const value of ['0', 'lots', '-2', '1.5']) {
      const env = { PORT: '0', SLIPWAY_HTTPS_PORT: '0', SLIPWAY_BIND: '127.0.0.1', SLIPWAY_DATA: data, DATABASE_URL: undefined, SLIPWAY_CI_CONCURRENCY: value };
      const started = await exec(process.execPath, [MAIN], { env, timeoutMs: 30_000 });
      assert.equal(started.code, 1, `${value}: ${started.stdout}${started.stderr}`);
      assert.equal(started.stderr.trim(), `Slipway could not start: SLIPWAY_CI_CONCURRENCY must be a whole number of at least 1 (how many CI jobs may run at once), got "${value}"`);
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
