/** `slipway ci run`: real bash jobs, real bubblewrap, in real temporary git repositories. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { CLI } from '../helpers/slipway.js';
import { scratchRepos } from '../helpers/ci-work-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-run-'));
const { git, repo } = scratchRepos(scratch);


// No Docker engine here, even if the machine has one: these jobs are the shell executor's (see ci-docker.test.ts).
const slipway = (...args: string[]) => exec('node', [CLI, ...args], { env: { HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), SLIPWAY_DOCKER_HOST: 'none' } });

interface Summary {
  status: string;
  executor: string;
  jobs: Array<{ name: string; stage: string; status: string; allow_failure: boolean; exit_code: number | null; failure_reason: string | null; attempts: number }>;
}

async function run(dir: string, ...args: string[]): Promise<{ code: number | null; summary: Summary; log: string; status: (job: string) => string | undefined }> {
  const r = await slipway('ci', 'run', '--json', '--cwd', dir, ...args);
  let summary: Summary;
  try {
    summary = JSON.parse(r.stdout) as Summary;
  } catch {
    assert.fail(`no JSON summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, summary, log: r.stderr, status: (job) => summary.jobs.find((j) => j.name === job)?.status };
}

/** Lines a job printed (prefix stripped). */
const linesOf = (log: string, job: string) =>
  log
    .split('\n')
    .filter((l) => l.startsWith(`${job} `))
    .map((l) => l.slice(job.length).trim());

describe('slipway ci run', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('stages run in order, needs run ahead of stage order, the sandbox is in place', async () => {
    const shared = mkdtempSync(join(scratch, 'shared-'));
    const dir = repo({
      '.gitlab-ci.yml': `
stages: [build, test]
variables:
  SHARED: ${shared}
build:
  stage: build
  timeout: 30 seconds
  script:
    # waits for a later-stage job that needs nothing: only a DAG scheduler lets this finish
    - while [ ! -f "$SHARED/dag-done" ]; do sleep 0.05; done
    - touch "$SHARED/build-done"
dag:
  stage: test
  needs: []
  script: touch "$SHARED/dag-done"
unit:
  stage: test
  script: test -f "$SHARED/build-done"
`,
    });
    const r = await run(dir, '--no-sandbox', '--concurrency', '2');
    assert.equal(r.code, 0, r.log);
    assert.deepEqual(r.summary.jobs.map((j) => [j.name, j.status, j.exit_code]), [['build', 'success', 0], ['dag', 'success', 0], ['unit', 'success', 0]]);

    const sandboxed = repo({ '.gitlab-ci.yml': 'probe:\n  script:\n    - test ! -e "$HOME/.gitconfig-not-here"\n    - touch /usr/should-fail && exit 9 || echo "system is read-only"\n    - echo "pid $$"\n' });
    const s = await run(sandboxed);
    assert.equal(s.code, 0, s.log);
    assert.match(s.summary.executor, /bubblewrap/);
    assert.ok(linesOf(s.log, 'probe').includes('system is read-only'), s.log);
  });

  test('a failure skips later stages; on_failure and always jobs run; exit code 1', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
stages: [build, test, cleanup]
build:
  stage: build
  script: exit 2
unit:
  stage: test
  script: echo never
report:
  stage: cleanup
  when: on_failure
  script: echo reporting
always:
  stage: cleanup
  when: always
  script: echo always
success-only-cleanup:
  stage: cleanup
  script: echo never
`,
    });
    const r = await run(dir);
    assert.equal(r.code, 1);
    assert.equal(r.summary.status, 'failed');
    assert.deepEqual(r.summary.jobs.map((j) => [j.name, j.status]), [
      ['build', 'failed'],
      ['unit', 'skipped'],
      ['report', 'success'],
      ['always', 'success'],
      ['success-only-cleanup', 'skipped'],
    ]);
    assert.equal(r.summary.jobs[0].exit_code, 2);
    assert.equal(r.summary.jobs[0].failure_reason, 'script_failure');
  });

  test('allow_failure and allow_failure:exit_codes', async () => {
    const pipeline = (code: number) => `
allowed:
  stage: build
  script: exit 1
  allow_failure: true
codes:
  stage: build
  script: exit ${code}
  allow_failure:
    exit_codes: [3, 4]
after:
  stage: test
  script: echo ran
`;
    const ok = await run(repo({ '.gitlab-ci.yml': pipeline(4) }));
    assert.equal(ok.code, 0, ok.log);
    assert.deepEqual(ok.summary.jobs.map((j) => [j.name, j.status, j.allow_failure]), [['allowed', 'failed', true], ['codes', 'failed', true], ['after', 'success', false]]);
    const bad = await run(repo({ '.gitlab-ci.yml': pipeline(5) }));
    assert.equal(bad.code, 1);
    assert.equal(bad.status('after'), 'skipped');
    assert.equal(bad.summary.jobs[1].allow_failure, false);
  });

  test('manual jobs run only with --manual; named jobs run with what they need', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
build:
  stage: build
  script: echo build
lint:
  stage: build
  script: echo lint
deploy:
  stage: deploy
  when: manual
  script: echo deploying
  needs: [build]
`,
    });
    const plain = await run(dir);
    assert.equal(plain.code, 0);
    assert.equal(plain.status('deploy'), 'manual');
    const played = await run(dir, '--manual', 'deploy');
    assert.equal(played.status('deploy'), 'success');
    assert.ok(linesOf(played.log, 'deploy').includes('deploying'));
    const only = await run(dir, 'deploy');
    assert.deepEqual(only.summary.jobs.map((j) => [j.name, j.status]), [['build', 'success'], ['deploy', 'success']]);
    const unknown = await slipway('ci', 'run', '--cwd', dir, 'nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No job named "nope"/);
  });

  test('retry: max and when', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
flaky:
  script: exit 1
  retry: 2
picky:
  script: exit 1
  retry:
    max: 2
    when: runner_system_failure
codes:
  script: exit 7
  retry:
    max: 1
    exit_codes: 7
`,
    });
    const r = await run(dir);
    assert.equal(r.code, 1);
    assert.deepEqual(r.summary.jobs.map((j) => [j.name, j.attempts]), [['flaky', 3], ['picky', 1], ['codes', 2]]);
  });

  for (const mode of ['sandbox', 'no-sandbox'] as const) {
    test(`timeout kills the whole process tree (${mode})`, async () => {
      const marker = `slipway-sleeper-${mode}-${process.pid}`;
      const dir = repo({
        '.gitlab-ci.yml': `
slow:
  timeout: 2 seconds
  script:
    - (exec -a ${marker}-bg sleep 1000) &
    - setsid bash -c 'exec -a ${marker}-sid sleep 1000' &
    - exec -a ${marker}-fg sleep 1000
  after_script:
    - echo after-script-ran
`,
      });
      const r = await run(dir, ...(mode === 'no-sandbox' ? ['--no-sandbox'] : []));
      assert.equal(r.code, 1);
      assert.equal(r.summary.jobs[0].failure_reason, 'job_execution_timeout');
      assert.ok(!r.log.includes('after-script-ran'), 'after_script does not run after a timeout');
      const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
      assert.deepEqual(left, [], 'no process of the job survives');
    });
  }

  test('artifacts and dotenv reach later jobs per dependencies and needs', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
stages: [build, test]
a:
  stage: build
  script:
    - mkdir -p dist && echo A > dist/a.txt && echo junk > dist/a.o
    - echo "FROM_A=alpha" > a.env
  artifacts:
    paths: [dist/]
    exclude: ['dist/*.o']
    expire_in: 1 week
    reports:
      dotenv: a.env
b:
  stage: build
  script: echo B > b.txt
  artifacts:
    paths: ['*.txt']
all:
  stage: test
  script:
    - test -f dist/a.txt && test -f b.txt && test ! -e dist/a.o
    - test "$FROM_A" = alpha
deps:
  stage: test
  dependencies: [a]
  script:
    - test -f dist/a.txt && test ! -e b.txt
    - test "$FROM_A" = alpha
needs-b:
  stage: test
  needs: [b]
  script: test -f b.txt && test ! -e dist/a.txt && test -z "$FROM_A"
needs-a-no-artifacts:
  stage: test
  needs: [{job: a, artifacts: false}]
  script: test ! -e dist/a.txt && test -z "$FROM_A"
none:
  stage: test
  dependencies: []
  script: test ! -e dist/a.txt && test ! -e b.txt
`,
    });
    const r = await run(dir);
    assert.equal(r.code, 0, r.log);
    assert.ok(r.summary.jobs.every((j) => j.status === 'success'), r.log);
  });

  test('failed jobs keep artifacts only with when: on_failure/always', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
stages: [build, test]
broken:
  stage: build
  script: [echo log > fail.log, exit 1]
  allow_failure: true
  artifacts:
    when: on_failure
    paths: [fail.log]
quiet:
  stage: build
  script: [echo x > quiet.log, exit 1]
  allow_failure: true
  artifacts:
    paths: [quiet.log]
check:
  stage: test
  script: test -f fail.log && test ! -e quiet.log
`,
    });
    const r = await run(dir);
    assert.equal(r.status('check'), 'success', r.log);
  });

  test('caches are saved and restored across two runs; policy pull does not save', async () => {
    const dir = repo({
      'package-lock.json': '{}\n',
      '.gitlab-ci.yml': `
deps:
  script:
    - if [ -f vendor/stamp ]; then echo "HIT $(cat vendor/stamp)"; else echo MISS; mkdir -p vendor; echo one > vendor/stamp; fi
  cache:
    key:
      files: [package-lock.json]
      prefix: $CI_JOB_NAME
    paths: [vendor/]
reader:
  script:
    - if [ -f other/stamp ]; then echo HIT; else echo MISS; mkdir -p other; echo x > other/stamp; fi
  cache:
    key: pulled
    policy: pull
    paths: [other/]
`,
    });
    const first = await run(dir);
    assert.equal(first.code, 0, first.log);
    assert.ok(linesOf(first.log, 'deps').includes('MISS'), first.log);
    const second = await run(dir);
    assert.ok(linesOf(second.log, 'deps').includes('HIT one'), second.log);
    assert.ok(linesOf(second.log, 'reader').includes('MISS'), second.log);
  });

  test('variables: precedence, expansion, predefined values', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
variables:
  LEVEL: global
  ONLY_GLOBAL: g
  RAW:
    value: 'keep $LEVEL'
    expand: false
job:
  variables:
    LEVEL: job
    FROM_CLI: job
    COMBINED: "$LEVEL-$ONLY_GLOBAL-$FROM_CLI"
    PRICE: "$$5"
  script:
    - test "$LEVEL" = job
    - test "$FROM_CLI" = cli
    - test "$COMBINED" = "job-g-cli"
    - test "$RAW" = 'keep $LEVEL'
    - test "$PRICE" = '$5'
    - test "$CI_COMMIT_BRANCH" = main && test "$CI_PIPELINE_SOURCE" = push
    - test "$CI_PROJECT_PATH" = acme/shop && test "$CI_JOB_NAME" = job && test "$CI_JOB_STAGE" = test
    - test "$CI_PROJECT_DIR" = "$PWD" && test "$CI_COMMIT_SHA" = "$(cat .sha)"
    - test "$CI" = true && test -n "$CI_JOB_ID" && test -n "$CI_PIPELINE_ID"
`,
    });
    writeFileSync(join(dir, '.sha'), git(dir, 'rev-parse', 'HEAD'));
    const r = await run(dir, '--variable', 'FROM_CLI=cli');
    assert.equal(r.code, 0, r.log);
  });

  test('masked values are replaced in the log', async () => {
    const dir = repo({ '.gitlab-ci.yml': 'leak:\n  script:\n    - echo "token=$TOKEN"\n    - printf "%s" "$TOKEN" | rev | rev\n' });
    const r = await run(dir, '--masked-variable', 'TOKEN=s3cr3t-value-42');
    assert.equal(r.code, 0, r.log);
    assert.ok(!r.log.includes('s3cr3t-value-42'), r.log);
    assert.ok(linesOf(r.log, 'leak').includes('token=[MASKED]'), r.log);
    const short = await slipway('ci', 'run', '--cwd', dir, '--masked-variable', 'TOKEN=short');
    assert.equal(short.code, 1);
  });

  test('parallel:matrix jobs each run with their variables', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
build:
  parallel:
    matrix:
      - ARCH: [amd64, arm64]
        OS: linux
  script: echo "built $ARCH/$OS node $CI_NODE_INDEX/$CI_NODE_TOTAL"
`,
    });
    const r = await run(dir);
    assert.equal(r.code, 0, r.log);
    assert.ok(linesOf(r.log, 'build: [amd64, linux]').includes('built amd64/linux node 1/2'), r.log);
    assert.ok(linesOf(r.log, 'build: [arm64, linux]').includes('built arm64/linux node 2/2'), r.log);
  });

  test('jobs with image: fail clearly unless --shell', async () => {
    const dir = repo({ '.gitlab-ci.yml': 'img:\n  image: alpine:3\n  script: echo ran-in-shell\n' });
    const r = await run(dir);
    assert.equal(r.code, 1);
    assert.equal(r.summary.jobs[0].failure_reason, 'runner_unsupported');
    assert.match(r.log, /no Docker engine is available .*; pass --shell/);
    const shell = await run(dir, '--shell');
    assert.equal(shell.code, 0);
    assert.ok(linesOf(shell.log, 'img').includes('ran-in-shell'));
  });

  test('resource_group jobs and a config error', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
one:
  resource_group: prod
  script: echo one
two:
  resource_group: prod
  script: echo two
`,
    });
    const r = await run(dir, '--concurrency', '2');
    assert.equal(r.code, 0, r.log);
    const broken = repo({ '.gitlab-ci.yml': 'job:\n  scirpt: echo\n' });
    const b = await slipway('ci', 'run', '--cwd', broken);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /unknown keyword "scirpt"|script/);
  });

  test('a generated pipeline with 500 jobs in 100 stages completes', async () => {
    const stages = Array.from({ length: 100 }, (_, i) => `s${i}`);
    let yaml = `stages: [${stages.join(', ')}]\n`;
    for (let s = 0; s < 100; s++) for (let j = 0; j < 5; j++) yaml += `j${s}_${j}:\n  stage: s${s}\n  script: 'true'\n`;
    const dir = repo({ '.gitlab-ci.yml': yaml });
    const r = await run(dir, '--concurrency', '2');
    assert.equal(r.code, 0, r.log.slice(-2000));
    assert.equal(r.summary.jobs.length, 500);
    assert.ok(r.summary.jobs.every((j) => j.status === 'success'));
  });
});
