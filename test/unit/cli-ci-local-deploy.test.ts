// docs/ci.md's recipes for a pipeline with a deploy job under a local `slipway ci run`, where
// jobs have no `slipway` on their PATH (and no job token): the deploy job fails as documented,
// a variable of your own keeps it out of local runs, and a stand-in command tries its script.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { CLI } from '../helpers/slipway.js';
import { scratchRepos } from '../helpers/ci-work-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-local-deploy-'));
const { repo } = scratchRepos(scratch);

// A `slipway` the developer installed on their PATH would change what the first case shows.
const PATH = (process.env.PATH ?? '/usr/bin:/bin')
  .split(':')
  .filter((dir) => dir && !existsSync(join(dir, 'slipway')))
  .join(':');

const PIPELINE = `
build:
  stage: build
  script: [echo built]
deploy:
  stage: deploy
  rules:
    - if: $LOCAL_RUN
      when: never
    - when: on_success
  script: ['\${SLIPWAY:-slipway} deploy -a shop-production']
`;

async function ciRun(dir: string, ...args: string[]) {
  const r = await exec(process.execPath, [CLI, 'ci', 'run', '--json', '--cwd', dir, ...args], {
    env: { PATH, HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), SLIPWAY_DOCKER_HOST: 'none', SLIPWAY_URL: undefined, SLIPWAY_API_KEY: undefined },
  });
  let summary: { status: string; jobs: Array<{ name: string; status: string; exit_code: number | null }> };
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    assert.fail(`no JSON summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, log: r.stderr, jobs: Object.fromEntries(summary.jobs.map((j) => [j.name, j])) };
}

describe('slipway ci run and deploy jobs (docs/ci.md)', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const dir = repo({ '.gitlab-ci.yml': PIPELINE });

  test('a local run has no slipway on PATH: the deploy job fails with command not found', async () => {
    const run = await ciRun(dir);
    assert.equal(run.code, 1);
    assert.equal(run.jobs.build.status, 'success');
    assert.equal(run.jobs.deploy.status, 'failed');
    assert.match(run.log, /slipway: command not found/);
  });

  test('a variable of your own keeps the deploy job out of local runs', async () => {
    const run = await ciRun(dir, '--variable', 'LOCAL_RUN=1');
    assert.equal(run.code, 0, run.log);
    assert.equal(run.jobs.build.status, 'success');
    assert.equal(run.jobs.deploy, undefined);
  });

  test('naming the jobs to run leaves the deploy job out; a stand-in command tries its script', async () => {
    const named = await ciRun(dir, 'build');
    assert.equal(named.code, 0, named.log);
    assert.deepEqual(Object.keys(named.jobs), ['build']);

    const dry = await ciRun(dir, 'deploy', '--variable', 'SLIPWAY=echo');
    assert.equal(dry.code, 0, dry.log);
    assert.equal(dry.jobs.deploy.status, 'success');
    // The output line, not the echoed command (`$ ${SLIPWAY:-slipway} deploy …`).
    assert.match(dry.log, /(?<!slipway\} )deploy -a shop-production$/m);
  });
});
