// Child pipelines (`trigger:include`) in server-mode CI: a trigger job of a pushed pipeline makes
// a child pipeline of its own (source parent_pipeline) from the commit or an earlier job's
// artifacts; `strategy: depend` mirrors the child's status; canceling the parent cancels the
// child; a child waiting when Slipway restarts carries on. Real pushes, real jobs, API and CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import type { ExecResult } from '../helpers/exec.js';
import { adminCli } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let repo: ProjectRepo;
let cli: (...args: string[]) => Promise<ExecResult>;

before(async () => {
  s = await startSlipway();
  repo = await ProjectRepo.create(s, 'ci-children');
  cli = (...args) => adminCli(s, ...args, '-p', 'ci-children');
});

after(async () => {
  await s?.destroy();
});

/** Commits the files on `branch` and pushes; returns the pipeline the push made. */
async function pushPipeline(branch: string, files: Record<string, string>): Promise<number> {
  await repo.checkout(branch);
  await repo.commit(files);
  const result = await repo.git('push', repo.url, branch);
  assert.equal(result.code, 0, result.stderr);
  const m = /remote: Pipeline #(\d+):/.exec(result.stderr);
  assert.ok(m, `no pipeline in:\n${result.stderr}`);
  return Number(m[1]);
}

const pipeline = async (number: number): Promise<any> => (await repo.api('GET', `/pipelines/${number}`)).body;
const named = (p: any, name: string) => p.jobs.find((j: any) => j.name === name);

function settled(number: number, statuses = ['success', 'failed', 'canceled', 'blocked']): Promise<any> {
  return waitFor(`pipeline #${number} to be ${statuses.join('/')}`, async () => {
    const p = await pipeline(number);
    return statuses.includes(p.status) ? p : undefined;
  }, 120_000, 100);
}

/** The child pipeline a trigger job made, once it exists. */
async function childOf(number: number, bridge: string): Promise<number> {
  const job = await waitFor(`${bridge} of #${number} to make its child`, async () => named(await pipeline(number), bridge)?.downstream_pipeline, 60_000, 100);
  return job.id;
}

test('trigger jobs make child pipelines from the commit and from artifacts; depend mirrors the status', async () => {
  const number = await pushPipeline('main', {
    '.gitlab-ci.yml': `
stages: [build, test, deploy]
variables:
  GREETING: hello
generate:
  stage: build
  script:
    - |
      printf 'dynamic:\\n  script: echo dynamic $CI_PIPELINE_SOURCE\\n' > generated.yml
  artifacts: { paths: [generated.yml] }
child:
  stage: test
  variables: { FOR_CHILD: "$GREETING from $CI_JOB_NAME" }
  trigger:
    include: ci/child.yml
    strategy: depend
dynamic:
  stage: test
  trigger:
    include: [{ artifact: generated.yml, job: generate }]
elsewhere:
  stage: test
  allow_failure: true
  trigger: acme/deployer
ship:
  stage: deploy
  script: echo shipped
`,
    'ci/child.yml': 'include: ci/child-jobs.yml\nstages: [check]\n',
    'ci/child-jobs.yml': 'check:\n  stage: check\n  script: echo "source=$CI_PIPELINE_SOURCE for-child=$FOR_CHILD ref=$CI_COMMIT_REF_NAME"\n',
  });
  const parent = await settled(number);
  assert.equal(parent.status, 'success', JSON.stringify(parent.jobs, null, 2));
  assert.deepEqual(parent.jobs.map((j: any) => [j.name, j.status]), [['generate', 'success'], ['child', 'success'], ['dynamic', 'success'], ['elsewhere', 'failed'], ['ship', 'success']]);
  const elsewhere = named(parent, 'elsewhere');
  assert.equal(elsewhere.failure_reason, 'invalid_bridge_trigger');
  assert.match(elsewhere.failure_message, /multi-project pipelines \(trigger:project acme\/deployer\) are not supported/);
  assert.equal(elsewhere.downstream_pipeline, null);

  const childNumber = named(parent, 'child').downstream_pipeline.id;
  const child = await settled(childNumber);
  assert.equal(child.status, 'success');
  assert.equal(child.source, 'parent_pipeline');
  assert.deepEqual([child.ref, child.sha], [parent.ref, parent.sha]);
  assert.deepEqual(child.parent_pipeline.job, { id: named(parent, 'child').id, name: 'child' });
  assert.equal(child.parent_pipeline.id, number);
  assert.deepEqual(child.stages, ['check']);
  assert.match(await repo.jobLog(child, 'check'), /source=parent_pipeline for-child=hello from child ref=main/);
  const dynamic = await settled(named(parent, 'dynamic').downstream_pipeline.id);
  assert.match(await repo.jobLog(dynamic, 'dynamic'), /dynamic parent_pipeline/);
  assert.match(await repo.jobLog(parent, 'child'), new RegExp(`Created child pipeline #${childNumber}`));

  const list = await cli('ci:pipelines');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`#${childNumber} .*child of #${number} \\(job #${named(parent, 'child').id} child\\)`));
  const shown = await cli('ci:pipeline', String(number));
  assert.match(shown.stdout, new RegExp(`child .*→ child pipeline #${childNumber} \\(success\\)`));
});

test('a failing child fails its depend bridge, an invalid child any bridge; later stages are skipped', async () => {
  const number = await pushPipeline('failing', {
    '.gitlab-ci.yml': `
stages: [test, deploy]
broken:
  trigger: { include: broken.yml, strategy: depend }
invalid:
  trigger: { include: invalid.yml }
ship:
  stage: deploy
  script: echo never
`,
    'broken.yml': 'fails:\n  script: exit 4\n',
    'invalid.yml': 'job:\n  scirpt: echo typo\n',
  });
  const parent = await settled(number);
  assert.equal(parent.status, 'failed');
  assert.deepEqual(parent.jobs.map((j: any) => [j.name, j.status]), [['broken', 'failed'], ['invalid', 'failed'], ['ship', 'skipped']]);
  const child = await pipeline(named(parent, 'broken').downstream_pipeline.id);
  assert.equal(child.status, 'failed');
  const invalid = named(parent, 'invalid');
  assert.equal(invalid.failure_reason, 'downstream_pipeline_creation_failed');
  assert.match(invalid.failure_message, /invalid\.yml:2: job:scirpt: unknown keyword "scirpt"/);
  assert.equal(invalid.downstream_pipeline, null);
});

test('canceling the parent cancels its child pipelines', async () => {
  const number = await pushPipeline('cancel', {
    '.gitlab-ci.yml': 'waited:\n  trigger: { include: slow.yml, strategy: depend }\nalone:\n  trigger: { include: slow.yml }\n',
    'slow.yml': 'slow:\n  script: [echo started, sleep 300]\n',
  });
  const waited = await childOf(number, 'waited');
  const alone = await childOf(number, 'alone');
  for (const child of [waited, alone]) await waitFor(`#${child} to run`, async () => named(await pipeline(child), 'slow').status === 'running', 60_000, 100);
  const canceled = await cli('ci:cancel', String(number));
  assert.equal(canceled.code, 0, canceled.stderr);
  for (const child of [waited, alone]) assert.equal((await settled(child)).status, 'canceled');
  const parent = await settled(number);
  assert.deepEqual(parent.jobs.map((j: any) => [j.name, j.status]), [['waited', 'canceled'], ['alone', 'success']]);
});

test('a depend bridge waiting for its child carries on after a restart', async () => {
  const number = await pushPipeline('restart', {
    '.gitlab-ci.yml': 'stages: [test, deploy]\nchild:\n  trigger: { include: gated.yml, strategy: depend }\nafter:\n  stage: deploy\n  script: echo after\n',
    'gated.yml': 'gate:\n  when: manual\n  allow_failure: false\n  script: echo played\n',
  });
  const childNumber = await childOf(number, 'child');
  assert.equal((await settled(childNumber)).status, 'blocked');
  assert.equal((await pipeline(number)).status, 'running');
  await s.kill();
  await s.restart();
  assert.equal(named(await pipeline(number), 'child').status, 'running');
  const played = await cli('ci:play', String(named(await pipeline(childNumber), 'gate').id));
  assert.equal(played.code, 0, played.stderr);
  assert.equal((await settled(childNumber)).status, 'success');
  const parent = await settled(number);
  assert.equal(parent.status, 'success', JSON.stringify(parent.jobs));
  assert.deepEqual(parent.jobs.map((j: any) => [j.name, j.status]), [['child', 'success'], ['after', 'success']]);
});
