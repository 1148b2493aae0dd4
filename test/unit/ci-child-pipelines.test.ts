/** Child pipelines (`trigger:include`) in `slipway ci run`, `ci lint` and `ci list`: real jobs in real git work trees. */
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { CLI } from '../helpers/slipway.js';
import { scratchRepos } from '../helpers/ci-work-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-child-'));
const { repo } = scratchRepos(scratch);
const slipway = (...args: string[]) => exec('node', [CLI, ...args], { env: { HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), SLIPWAY_DOCKER_HOST: 'none' } });

interface JobSummary {
  name: string;
  status: string;
  failure_reason: string | null;
  note?: string;
  downstream_pipeline?: { status: string; jobs: JobSummary[] };
}

async function run(dir: string, ...args: string[]) {
  const r = await slipway('ci', 'run', '--json', '--no-sandbox', '--cwd', dir, ...args);
  let summary: { status: string; jobs: JobSummary[] };
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    assert.fail(`no JSON summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const job = (name: string) => summary.jobs.find((j) => j.name === name);
  const child = (name: string) => job(name)?.downstream_pipeline;
  return { code: r.code, summary, log: r.stderr, job, child, statuses: (jobs: JobSummary[] = summary.jobs) => jobs.map((j) => [j.name, j.status]) };
}

/** What a job printed: its lines with the `pipeline » job` prefix taken off. */
const linesOf = (log: string, label: string) =>
  log
    .split('\n')
    .filter((l) => l.startsWith(`${label} `))
    .map((l) => l.slice(label.length).trim());

describe('child pipelines (trigger:include)', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('a depend bridge runs its child as a new pipeline and takes its status', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
stages: [build, test, deploy]
variables:
  GLOBAL: from-parent
  SHADOWED: parent
default:
  before_script: [echo parent-default]
build:
  stage: build
  script: echo built > built.txt
  artifacts: { paths: [built.txt] }
child:
  stage: test
  variables:
    JOB_VAR: "job-$GLOBAL"
  trigger:
    include: ci/child.yml
    strategy: depend
deploy:
  stage: deploy
  script: echo deploying
`,
      'ci/child.yml': `
include: ci/child-jobs.yml
stages: [first, second]
variables:
  SHADOWED: child
  CHILD_ONLY: mine
`,
      'ci/child-jobs.yml': `
c1:
  stage: first
  script:
    - echo "source=$CI_PIPELINE_SOURCE global=$GLOBAL job=$JOB_VAR shadowed=$SHADOWED own=$CHILD_ONLY"
    - test ! -e built.txt && echo "no parent artifacts"
c2:
  stage: second
  script: echo second
`,
    });
    // One slot: the bridge must not hold it while its child's jobs wait for one.
    const r = await run(dir, '--concurrency', '1');
    assert.equal(r.code, 0, r.log);
    assert.deepEqual(r.statuses(), [['build', 'success'], ['child', 'success'], ['deploy', 'success']]);
    assert.equal(r.child('child')?.status, 'success');
    assert.deepEqual(r.statuses(r.child('child')!.jobs), [['c1', 'success'], ['c2', 'success']]);
    const c1 = linesOf(r.log, 'child » c1');
    // YAML variables the bridge sees (global and its own) come down as pipeline variables: they beat the child's own.
    assert.ok(c1.includes('source=parent_pipeline global=from-parent job=job-from-parent shadowed=parent own=mine'), r.log);
    assert.ok(c1.includes('no parent artifacts'), r.log);
    // default: is not passed down; the parent's jobs keep theirs.
    assert.ok(!c1.includes('parent-default'), r.log);
    assert.ok(linesOf(r.log, 'deploy').includes('parent-default'), r.log);
    // The child started after the bridge's stage began, and the parent's next stage waited for it.
    assert.ok(r.log.lastIndexOf('child » c2') < r.log.indexOf('deploy starting'), r.log);
  });

  test('depend: a failed child fails the bridge; without depend the bridge passes once the child exists', async () => {
    const pipeline = (strategy: string) => `
stages: [test, deploy]
child:
  stage: test
  trigger:
    include: child.yml
${strategy}
deploy:
  stage: deploy
  script: echo deploying
`;
    const child = 'broken:\n  script: exit 3\n';
    const depend = await run(repo({ '.gitlab-ci.yml': pipeline('    strategy: depend'), 'child.yml': child }));
    assert.equal(depend.code, 1, depend.log);
    assert.equal(depend.summary.status, 'failed');
    assert.deepEqual(depend.statuses(), [['child', 'failed'], ['deploy', 'skipped']]);
    assert.equal(depend.child('child')?.status, 'failed');

    const detached = await run(repo({ '.gitlab-ci.yml': pipeline(''), 'child.yml': child }));
    assert.equal(detached.code, 0, detached.log);
    assert.deepEqual(detached.statuses(), [['child', 'success'], ['deploy', 'success']]);
    assert.equal(detached.child('child')?.status, 'failed');
    assert.deepEqual(detached.statuses(detached.child('child')!.jobs), [['broken', 'failed']]);
  });

  test('a child configuration that does not load fails the bridge with its file:line errors', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
bad-child:
  allow_failure: true
  trigger:
    include: child.yml
no-jobs:
  trigger:
    include: [{ local: rules.yml }]
    strategy: depend
after:
  stage: deploy
  script: echo after
`,
      'child.yml': 'job:\n  scirpt: echo typo\n',
      'rules.yml': 'only-tags:\n  rules: [{ if: $CI_COMMIT_TAG }]\n  script: echo tag\n',
    });
    const r = await run(dir);
    assert.equal(r.code, 1, r.log);
    assert.equal(r.job('bad-child')?.status, 'failed');
    assert.equal(r.job('bad-child')?.failure_reason, 'downstream_pipeline_creation_failed');
    assert.ok(linesOf(r.log, 'bad-child').some((l) => l.startsWith('child.yml:2: job:scirpt: unknown keyword "scirpt"')), r.log);
    assert.equal(r.job('no-jobs')?.failure_reason, 'downstream_pipeline_creation_failed');
    assert.match(linesOf(r.log, 'no-jobs').join('\n'), /the child pipeline was not created: no job matched its rules/);
    assert.equal(r.job('after')?.status, 'skipped');
  });

  test('a dynamic child pipeline comes from an earlier job\'s artifact', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
generate:
  stage: build
  script:
    - "echo 'include: shared.yml' > generated.yml"
    - |
      for n in 1 2; do
        printf 'gen-%s:\\n  extends: .shared\\n  script: echo generated %s\\n' $n $n >> generated.yml
      done
  artifacts:
    paths: [generated.yml]
run-generated:
  stage: test
  trigger:
    include:
      - artifact: generated.yml
        job: generate
    strategy: depend
missing:
  stage: test
  allow_failure: true
  trigger:
    include:
      - artifact: nothing.yml
        job: generate
`,
      'shared.yml': '.shared:\n  stage: test\n',
    });
    const r = await run(dir);
    assert.equal(r.code, 0, r.log);
    assert.deepEqual(r.statuses(r.child('run-generated')!.jobs), [['gen-1', 'success'], ['gen-2', 'success']]);
    assert.ok(linesOf(r.log, 'run-generated » gen-2').includes('generated 2'), r.log);
    assert.equal(r.job('missing')?.failure_reason, 'downstream_pipeline_creation_failed');
    assert.match(linesOf(r.log, 'missing').join('\n'), /job generate has no artifact file "nothing.yml"/);
  });

  test('trigger:forward decides which variables reach the child', async () => {
    const child = 'show:\n  script: echo "yaml=${YAML_VAR:-unset} pipeline=${PIPE_VAR:-unset} literal=$LITERAL"\n';
    const dir = repo({
      '.gitlab-ci.yml': `
variables:
  YAML_VAR: yaml
  LITERAL: { value: "$$NOT_EXPANDED", expand: false }
default-forward:
  trigger: { include: child.yml, strategy: depend }
all:
  trigger:
    include: child.yml
    strategy: depend
    forward: { pipeline_variables: true }
none:
  trigger:
    include: child.yml
    strategy: depend
    forward: { yaml_variables: false }
`,
      'child.yml': child,
    });
    const r = await run(dir, '--variable', 'PIPE_VAR=from-cli');
    assert.equal(r.code, 0, r.log);
    assert.deepEqual(linesOf(r.log, 'default-forward » show').filter((l) => l.startsWith('yaml=')), ['yaml=yaml pipeline=unset literal=$$NOT_EXPANDED']);
    assert.deepEqual(linesOf(r.log, 'all » show').filter((l) => l.startsWith('yaml=')), ['yaml=yaml pipeline=from-cli literal=$$NOT_EXPANDED']);
    assert.deepEqual(linesOf(r.log, 'none » show').filter((l) => l.startsWith('yaml=')), ['yaml=unset pipeline=unset literal=']);
  });

  test('children may have children, two levels down and no further', async () => {
    const level = (name: string, next: string) => `${name}-job:\n  script: echo in ${name}\n${next ? `${name}-trigger:\n  stage: deploy\n  trigger: { include: ${next}, strategy: depend }\n` : ''}`;
    const dir = repo({
      '.gitlab-ci.yml': level('top', 'one.yml'),
      'one.yml': level('one', 'two.yml'),
      'two.yml': level('two', 'three.yml'),
      'three.yml': level('three', ''),
    });
    const r = await run(dir);
    assert.equal(r.code, 1, r.log);
    const one = r.child('top-trigger')!;
    const two = one.jobs.find((j) => j.name === 'one-trigger')!.downstream_pipeline!;
    assert.deepEqual(r.statuses(two.jobs), [['two-job', 'success'], ['two-trigger', 'failed']]);
    assert.equal(two.jobs[1].failure_reason, 'reached_max_descendant_pipelines_depth');
    assert.ok(linesOf(r.log, 'top-trigger » one-trigger » two-job').includes('in two'), r.log);
    assert.match(linesOf(r.log, 'top-trigger » one-trigger » two-trigger').join('\n'), /maximum depth of child pipelines/);
    assert.deepEqual([one.status, r.summary.status], ['failed', 'failed']);
  });

  test('a manual job in a dependent child keeps the bridge running; --manual plays it', async () => {
    const dir = repo({
      '.gitlab-ci.yml': 'stages: [test, deploy]\nchild:\n  trigger: { include: child.yml, strategy: depend }\nafter:\n  stage: deploy\n  script: echo after\n',
      'child.yml': 'gate:\n  when: manual\n  allow_failure: false\n  script: echo played\n',
    });
    const blocked = await run(dir);
    assert.equal(blocked.code, 0, blocked.log);
    assert.equal(blocked.summary.status, 'blocked');
    assert.deepEqual(blocked.statuses(), [['child', 'running'], ['after', 'created']]);
    assert.equal(blocked.child('child')?.status, 'blocked');
    const played = await run(dir, '--manual', 'gate');
    assert.equal(played.code, 0, played.log);
    assert.deepEqual(played.statuses(), [['child', 'success'], ['after', 'success']]);
  });

  test('Ctrl-C cancels the jobs of child pipelines, waited for or not', async () => {
    const dir = repo({
      '.gitlab-ci.yml': 'waited:\n  trigger: { include: child.yml, strategy: depend }\nalone:\n  trigger: { include: child.yml }\n',
      'child.yml': 'long:\n  script:\n    - echo started\n    - sleep 300\n',
    });
    const child = spawn('node', [CLI, 'ci', 'run', '--json', '--no-sandbox', '--cwd', dir], { env: { ...process.env, HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), SLIPWAY_DOCKER_HOST: 'none' } });
    let log = '';
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        log += c.toString();
        if (/waited » long\s+started/.test(log) && /alone » long\s+started/.test(log)) resolve();
      });
      child.on('close', () => reject(new Error(`ended before the jobs started:\n${log}`)));
    });
    child.kill('SIGINT');
    assert.equal(await exited, 130, log);
    const summary = JSON.parse(stdout) as { status: string; jobs: JobSummary[] };
    assert.equal(summary.status, 'canceled');
    const waited = summary.jobs.find((j) => j.name === 'waited')!;
    assert.equal(waited.status, 'canceled');
    assert.deepEqual(waited.downstream_pipeline?.jobs.map((j) => j.status), ['canceled']);
    assert.deepEqual(summary.jobs.find((j) => j.name === 'alone')!.downstream_pipeline?.jobs.map((j) => j.status), ['canceled']);
  });

  test('the child of a merge request pipeline runs for the merge request', async () => {
    const dir = repo({
      '.gitlab-ci.yml': 'child:\n  rules: [{ if: $CI_PIPELINE_SOURCE == "merge_request_event" }]\n  trigger: { include: child.yml, strategy: depend }\n',
      'child.yml': 'for-mr:\n  rules: [{ if: $CI_MERGE_REQUEST_IID }]\n  script: echo "iid=$CI_MERGE_REQUEST_IID ref=$CI_COMMIT_REF_NAME branch=${CI_COMMIT_BRANCH:-none}"\nbranch-only:\n  script: echo branches only\n',
    });
    const r = await run(dir, '--source', 'merge_request_event', '--branch', 'feature');
    assert.equal(r.code, 0, r.log);
    // A job without rules is `only: [branches, tags]`: not in a merge request's child pipeline either.
    assert.deepEqual(r.statuses(r.child('child')!.jobs), [['for-mr', 'success']]);
    assert.ok(linesOf(r.log, 'child » for-mr').includes('iid=1 ref=feature branch=none'), r.log);
  });

  test('trigger:project is not run locally, and says so', async () => {
    const dir = repo({ '.gitlab-ci.yml': 'elsewhere:\n  trigger: acme/deployer\nunit:\n  script: echo unit\n' });
    const r = await run(dir);
    assert.equal(r.code, 0, r.log);
    assert.equal(r.job('elsewhere')?.status, 'skipped');
    assert.match(r.job('elsewhere')?.note ?? '', /^not run: multi-project pipelines \(trigger:project acme\/deployer\)/);
    assert.match(r.log, /elsewhere +not run: multi-project/);
  });

  test('ci lint checks the files a trigger job includes; ci list marks trigger jobs', async () => {
    const dir = repo({
      '.gitlab-ci.yml': 'unit:\n  script: echo\nchild:\n  trigger:\n    include: child.yml\n    strategy: depend\n',
      'child.yml': 'stages: [one]\nc1:\n  stage: two\n  script: echo\n',
    });
    const lint = await slipway('ci', 'lint', '--cwd', dir);
    assert.equal(lint.code, 1, lint.stdout);
    assert.equal(lint.stderr.trim(), 'child.yml:3: c1: stage "two" is not declared in stages (.pre, one, .post)');

    const good = repo({ '.gitlab-ci.yml': 'child:\n  trigger: { include: [{ local: child.yml }] }\nbad:\n  trigger: { include: missing.yml }\n', 'child.yml': 'c1:\n  script: echo\n' });
    const missing = await slipway('ci', 'lint', '--cwd', good);
    assert.equal(missing.stderr.trim(), '.gitlab-ci.yml:3: included file "missing.yml" does not exist');
    const scriptAndTrigger = repo({ '.gitlab-ci.yml': 'x:\n  script: echo\n  when: delayed\n  start_in: 1 minute\n  trigger: { include: child.yml }\n', 'child.yml': 'c1:\n  script: echo\n' });
    const both = await slipway('ci', 'lint', '--cwd', scriptAndTrigger);
    assert.match(both.stderr, /x: a trigger job runs no script/);
    assert.match(both.stderr, /x: when of a trigger job should be one of: on_success, on_failure, always, manual/);

    const valid = repo({ '.gitlab-ci.yml': 'child:\n  trigger: { include: [{ local: child.yml }] }\n', 'child.yml': 'c1:\n  script: echo\n' });
    const ok = await slipway('ci', 'lint', '--cwd', valid);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /1 child pipeline\)/);
    const list = await slipway('ci', 'list', '--json', '--cwd', valid);
    assert.deepEqual(JSON.parse(list.stdout), [{ name: 'child', stage: 'test', when: 'on_success', allow_failure: false, needs: null, trigger: { include: [{ local: 'child.yml' }], strategy: null } }]);
  });
});
