/** The CI engine on real files: loading, validation errors with file:line, and planning. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { directoryFiles, formatCiError, loadPipeline, planPipeline, type PipelineContext, type RemoteFetcher } from '../../src/ci/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-engine-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

function project(files: Record<string, string>): string {
  const dir = join(scratch, `p${counter++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const push = (over: Partial<PipelineContext> = {}): PipelineContext => ({ source: 'push', branch: 'main', sha: 'a'.repeat(40), defaultBranch: 'main', projectPath: 'group/app', ...over });

async function lint(files: Record<string, string>, fetchRemote?: RemoteFetcher): Promise<string[]> {
  const loaded = await loadPipeline({ files: directoryFiles(project(files)), fetchRemote });
  return loaded.errors.map(formatCiError);
}

async function plan(files: Record<string, string> | string, ctx: PipelineContext = push()) {
  const dir = project(typeof files === 'string' ? { '.gitlab-ci.yml': files } : files);
  const loaded = await loadPipeline({ files: directoryFiles(dir), context: ctx });
  assert.deepEqual(loaded.errors.map(formatCiError), []);
  return planPipeline(loaded, { ...ctx, repositoryFiles: await directoryFiles(dir).list() });
}

const list = async (yaml: string, ctx?: PipelineContext) =>
  (await plan(yaml, ctx)).jobs.map((j) => ({ name: j.name, stage: j.stage, when: j.when, allow_failure: j.allowFailure, needs: j.needs && j.needs.map((n) => n.job) }));
const names = async (yaml: string, ctx?: PipelineContext) => (await plan(yaml, ctx)).jobs.map((j) => j.name);

describe('bad input is rejected with file, line and reason', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['invalid YAML', { '.gitlab-ci.yml': 'a:\n  script: [x\nb: 1\n' }, /^\.gitlab-ci\.yml:\d+: invalid YAML/],
    ['unknown keyword', { '.gitlab-ci.yml': 'job:\n  script: x\n  scirpt: y\n' }, /^\.gitlab-ci\.yml:3: job:scirpt: unknown keyword "scirpt"$/],
    ['bad when value', { '.gitlab-ci.yml': 'job:\n  script: x\n  when: sometimes\n' }, /^\.gitlab-ci\.yml:3: job:when: must be one of/],
    ['missing stage', { '.gitlab-ci.yml': 'stages: [build]\njob:\n  stage: deploy\n  script: x\n' }, /^\.gitlab-ci\.yml:3: job: stage "deploy" is not declared/],
    ['needs cycle', { '.gitlab-ci.yml': 'a:\n  script: x\n  needs: [b]\nb:\n  script: x\n  needs: [a]\n' }, /^\.gitlab-ci\.yml:\d: \w: circular dependency detected in needs: (a → b → a|b → a → b)$/],
    ['needs on a later stage', { '.gitlab-ci.yml': 'a:\n  stage: build\n  script: x\n  needs: [b]\nb:\n  stage: deploy\n  script: x\n' }, /^\.gitlab-ci\.yml:4: a: needs "b", which is in a later stage/],
    ['needs an unknown job', { '.gitlab-ci.yml': 'a:\n  script: x\n  needs: [ghost]\n' }, /^\.gitlab-ci\.yml:3: a: needs "ghost", but no job named "ghost" is defined$/],
    ['include loop', { '.gitlab-ci.yml': 'include: a.yml\njob:\n  script: x\n', 'a.yml': 'include: b.yml\n', 'b.yml': 'include: a.yml\n' }, /^b\.yml:1: include loop: a\.yml → b\.yml → a\.yml$/],
    ['only templates', { '.gitlab-ci.yml': '.template:\n  script: x\nvariables:\n  A: b\n' }, /^\.gitlab-ci\.yml: jobs config should contain at least one visible job/],
    ['missing include', { '.gitlab-ci.yml': 'include:\n  - local: nope.yml\njob:\n  script: x\n' }, /^\.gitlab-ci\.yml:2: included file "nope\.yml" does not exist$/],
    ['extends loop', { '.gitlab-ci.yml': '.a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: x\n' }, /circular dependency detected in extends/],
    ['extends of nothing', { '.gitlab-ci.yml': 'job:\n  extends: .missing\n  script: x\n' }, /^\.gitlab-ci\.yml:2: job: unknown key in extends: "\.missing"/],
    ['job without script', { '.gitlab-ci.yml': 'job:\n  stage: test\n' }, /^\.gitlab-ci\.yml:1: job: a job needs script/],
    ['job-level when: never', { '.gitlab-ci.yml': 'job:\n  script: x\n  when: never\n' }, /when: never is only allowed inside rules/],
    ['rules with only', { '.gitlab-ci.yml': 'job:\n  script: x\n  only: [main]\n  rules:\n    - when: always\n' }, /^\.gitlab-ci\.yml:3: job: config key may not be used with rules: only$/],
    ['dangling !reference', { '.gitlab-ci.yml': 'job:\n  script: !reference [.nope, script]\n' }, /^\.gitlab-ci\.yml:2: !reference \[\.nope, script\] points at nothing/],
    ['error inside an included file', { '.gitlab-ci.yml': 'include: ci/jobs.yml\n', 'ci/jobs.yml': 'job:\n  script: x\n  artifacts:\n    pathz: [a]\n' }, /^ci\/jobs\.yml:4: job:artifacts:pathz: unknown keyword "pathz"$/],
  ];
  for (const [what, files, expected] of cases) {
    test(what, async () => {
      const errors = await lint(files);
      assert.ok(errors.some((e) => expected.test(e)), `expected ${expected} in ${JSON.stringify(errors)}`);
    });
  }

  test('extends deeper than 11 levels', async () => {
    const chain = (n: number) => {
      let yaml = '.l0:\n  script: x\n';
      for (let i = 1; i <= n; i++) yaml += `.l${i}:\n  extends: .l${i - 1}\n`;
      return { '.gitlab-ci.yml': `${yaml}job:\n  extends: .l${n}\n` };
    };
    assert.deepEqual(await lint(chain(10)), []); // job is 11 levels above .l0
    const errors = await lint(chain(11));
    assert.ok(errors.some((e) => /^\.gitlab-ci\.yml:\d+: job: extends nesting is too deep \(12 levels; at most 11\)$/.test(e)), JSON.stringify(errors));
  });
});

describe('loading', () => {
  test('anchors, << merge keys (Psych order), !reference across includes, script flattening', async () => {
    const p = await plan({
      '.gitlab-ci.yml': [
        'include:',
        '  - local: /ci/*.yml',
        '.vars: &vars',
        '  A: from-anchor',
        '.setup: &setup [echo one, echo two]',
        'job:',
        '  variables:',
        '    A: before',
        '    <<: *vars',
        '  script:',
        '    - *setup',
        '    - !reference [.shared, script]',
        '    - echo last',
      ].join('\n'),
      'ci/shared.yml': '.shared:\n  script: [echo shared]\n',
    });
    const job = p.jobs[0];
    assert.equal(job.variables.A, 'from-anchor');
    assert.deepEqual(job.config.script, ['echo one', 'echo two', 'echo shared', 'echo last']);
  });

  test('include merge: included files first, later file wins, hashes deep-merged, lists replaced', async () => {
    const p = await plan({
      '.gitlab-ci.yml': 'include: [a.yml, b.yml]\njob:\n  variables: {MAIN: "1"}\n',
      'a.yml': 'job:\n  script: [from-a]\n  variables: {A: "a", SHARED: a}\n  tags: [x, y]\n',
      'b.yml': 'job:\n  variables: {SHARED: b}\n  tags: [z]\n',
    });
    assert.deepEqual(p.jobs[0].config.script, ['from-a']);
    assert.deepEqual(p.jobs[0].config.tags, ['z']);
    assert.deepEqual(p.jobs[0].variables, { A: 'a', SHARED: 'b', MAIN: '1' });
  });

  test('include:remote goes through the injected fetcher', async () => {
    const fetched: string[] = [];
    const fetchRemote: RemoteFetcher = async (url) => (fetched.push(url), 'remote-job:\n  script: x\n  scirpt: y\n');
    const errors = await lint({ '.gitlab-ci.yml': 'include: https://example.com/ci.yml\n' }, fetchRemote);
    assert.deepEqual(fetched, ['https://example.com/ci.yml']);
    assert.deepEqual(errors, ['https://example.com/ci.yml:3: remote-job:scirpt: unknown keyword "scirpt"']);
  });

  test('extends: reverse deep merge, later parent wins, null removes; default fills only missing keys', async () => {
    const p = await plan(
      [
        'default:',
        '  image: ruby:3',
        '  before_script: [default-before]',
        '.a:',
        '  variables: {X: a, Y: a}',
        '  script: [a]',
        '  tags: [t]',
        '.b:',
        '  variables: {Y: b}',
        '  script: [b]',
        'job:',
        '  extends: [.a, .b]',
        '  tags: null',
        '  before_script: [own]',
        'plain:',
        '  script: x',
        '  inherit:',
        '    default: [image]',
      ].join('\n'),
    );
    const [job, plain] = p.jobs;
    assert.deepEqual(job.config.script, ['b']);
    assert.deepEqual(job.variables, { X: 'a', Y: 'b' });
    assert.equal(job.config.tags, null);
    assert.deepEqual(job.config.before_script, ['own']);
    assert.equal(job.config.image, 'ruby:3');
    assert.equal(plain.config.image, 'ruby:3');
    assert.equal(plain.config.before_script, undefined);
  });
});

describe('planning', () => {
  test('default stages, .pre/.post order, jobs in stage then file order', async () => {
    const yaml = 'z-post:\n  stage: .post\n  script: x\ndeploy:\n  stage: deploy\n  script: x\nunit:\n  script: x\npre:\n  stage: .pre\n  script: x\nbuild:\n  stage: build\n  script: x\n';
    const p = await plan(yaml);
    assert.deepEqual(p.jobs.map((j) => j.name), ['pre', 'build', 'unit', 'deploy', 'z-post']);
    assert.deepEqual(p.stages, ['.pre', 'build', 'test', 'deploy', '.post']);
  });

  test('a pipeline of only .pre/.post jobs is not created', async () => {
    const p = await plan('pre:\n  stage: .pre\n  script: x\n');
    assert.equal(p.created, false);
    assert.deepEqual(p.jobs, []);
  });

  test('manual: job level gives allow_failure true, rules give false, explicit wins', async () => {
    const rows = await list(
      [
        'job-manual:\n  script: x\n  when: manual',
        'rule-manual:\n  script: x\n  rules:\n    - when: manual',
        'rule-manual-allowed:\n  script: x\n  rules:\n    - when: manual\n      allow_failure: true',
        'job-manual-strict:\n  script: x\n  when: manual\n  allow_failure: false',
        'delayed:\n  script: x\n  when: delayed\n  start_in: 5 minutes',
        'exit-codes:\n  script: x\n  allow_failure:\n    exit_codes: [137]',
      ].join('\n'),
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.when, r.allow_failure]),
      [
        ['job-manual', 'manual', true],
        ['rule-manual', 'manual', false],
        ['rule-manual-allowed', 'manual', true],
        ['job-manual-strict', 'manual', false],
        ['delayed', 'delayed', false],
        ['exit-codes', 'on_success', false],
      ],
    );
  });

  test('jobs without rules/only/except are not in merge-request pipelines; only/except refs', async () => {
    const yaml = [
      'plain:\n  script: x',
      'mr:\n  script: x\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
      'tags-only:\n  script: x\n  only: [tags]',
      'release-branches:\n  script: x\n  only: ["/^release\\\\/.*$/"]',
      'not-main:\n  script: x\n  except: [main]',
      'vars:\n  script: x\n  only:\n    variables: [$DEPLOY == "yes"]',
    ].join('\n');
    const mrCtx = push({ source: 'merge_request_event', branch: 'feature', mergeRequest: { iid: 3, sourceBranch: 'feature', targetBranch: 'main' } });
    assert.deepEqual(await names(yaml, mrCtx), ['mr']);
    assert.deepEqual(await names(yaml, push()), ['plain']);
    assert.deepEqual(await names(yaml, push({ branch: 'release/1.0' })), ['plain', 'release-branches', 'not-main']);
    assert.deepEqual(await names(yaml, push({ branch: undefined, tag: 'v1' })), ['plain', 'tags-only', 'not-main']);
    assert.deepEqual(await names(yaml, push({ variables: { DEPLOY: 'yes' } })), ['plain', 'vars']);
  });

  test('rules: first match wins, when: never, rules:variables, rules:needs, changes and exists', async () => {
    const yaml = [
      'build:\n  stage: build\n  script: x',
      'lint:\n  stage: build\n  script: x',
      'job:\n  script: x\n  needs: [build]\n  variables: {LEVEL: job}\n  rules:\n    - if: $CI_COMMIT_BRANCH == "skip"\n      when: never\n    - if: $CI_COMMIT_BRANCH == "main"\n      variables: {LEVEL: rule}\n      needs: [lint]\n    - when: on_success',
      'has-dockerfile:\n  script: x\n  rules:\n    - exists: [Dockerfile]',
      'has-go:\n  script: x\n  rules:\n    - exists: ["**/*.go"]',
      'changed:\n  script: x\n  rules:\n    - changes: [src/**/*]',
    ].join('\n');
    const main = await plan({ '.gitlab-ci.yml': yaml, Dockerfile: 'FROM x\n' });
    const job = main.jobs.find((j) => j.name === 'job');
    assert.equal(job?.variables.LEVEL, 'rule');
    assert.deepEqual(job?.needs?.map((n) => n.job), ['lint']);
    assert.deepEqual(main.jobs.map((j) => j.name), ['build', 'lint', 'job', 'has-dockerfile', 'changed']);
    assert.deepEqual(await names(yaml, push({ branch: 'skip' })), ['build', 'lint', 'changed']);
    const withDiff = push({ changes: () => ['docs/readme.md'] });
    assert.deepEqual((await plan(yaml, withDiff)).jobs.map((j) => j.name).includes('changed'), false);
  });

  test('workflow:rules decide whether there is a pipeline, and their variables act as globals', async () => {
    const yaml = 'variables: {ENV: dev}\nworkflow:\n  rules:\n    - if: $CI_COMMIT_TAG\n      variables: {ENV: prod}\n    - if: $CI_COMMIT_BRANCH == "main"\njob:\n  script: x\n  rules:\n    - if: $ENV == "prod"\n';
    assert.equal((await plan(yaml, push({ branch: 'feature' }))).created, false);
    assert.deepEqual((await plan(yaml, push())).jobs, []);
    const tagged = await plan(yaml, push({ branch: undefined, tag: 'v1' }));
    assert.deepEqual(tagged.jobs.map((j) => [j.name, j.variables.ENV]), [['job', 'prod']]);
  });

  test('parallel and matrix names; needs on a parallel job waits for every instance; needs:parallel:matrix', async () => {
    const yaml = [
      'stages: [build, test]',
      'build:\n  stage: build\n  script: x\n  parallel:\n    matrix:\n      - PROVIDER: aws\n        STACK: [monitoring, app1]\n      - PROVIDER: [gcp, vultr]\n        STACK: [data]',
      'shard:\n  stage: build\n  script: x\n  parallel: 3',
      'test:\n  stage: test\n  script: x\n  needs: [shard]',
      'pick:\n  stage: test\n  script: x\n  needs:\n    - job: build\n      parallel:\n        matrix:\n          - PROVIDER: aws\n            STACK: app1',
    ].join('\n');
    const p = await plan(yaml);
    assert.deepEqual(p.jobs.map((j) => j.name), ['build: [aws, monitoring]', 'build: [aws, app1]', 'build: [gcp, data]', 'build: [vultr, data]', 'shard 1/3', 'shard 2/3', 'shard 3/3', 'test', 'pick']);
    assert.deepEqual(p.jobs[1].variables, { PROVIDER: 'aws', STACK: 'app1' });
    assert.deepEqual([p.jobs[5].nodeIndex, p.jobs[5].nodeTotal], [2, 3]);
    assert.deepEqual(p.jobs[7].needs?.map((n) => n.job), ['shard 1/3', 'shard 2/3', 'shard 3/3']);
    assert.deepEqual(p.jobs[8].needs?.map((n) => n.job), ['build: [aws, app1]']);
  });

  test('needs on a job that rules left out fails the pipeline unless optional', async () => {
    const base = 'build:\n  stage: build\n  script: x\n  rules:\n    - if: $CI_COMMIT_TAG\n';
    const dir = project({ '.gitlab-ci.yml': `${base}test:\n  script: x\n  needs: [build]\n` });
    const loaded = await loadPipeline({ files: directoryFiles(dir) });
    const p = planPipeline(loaded, push());
    assert.equal(p.created, false);
    assert.deepEqual(p.errors.map(formatCiError), [".gitlab-ci.yml:8: 'test' job needs 'build' job, but 'build' was not added to the pipeline"]);
    const optional = await plan(`${base}test:\n  script: x\n  needs:\n    - job: build\n      optional: true\n      artifacts: false\n`);
    assert.deepEqual(optional.jobs.map((j) => [j.name, j.needs]), [['test', []]]);
  });

  test('dependencies name created jobs; needs artifacts:false is kept', async () => {
    const p = await plan('a:\n  stage: build\n  script: x\n  parallel: 2\nb:\n  script: x\n  dependencies: [a]\n  needs:\n    - job: a\n      artifacts: false\n');
    const b = p.jobs.find((j) => j.name === 'b');
    assert.deepEqual(b?.dependencies, ['a 1/2', 'a 2/2']);
    assert.deepEqual(b?.needs, [{ job: 'a 1/2', artifacts: false, optional: false }, { job: 'a 2/2', artifacts: false, optional: false }]);
  });

  test('500 jobs in 100 stages with needs chains plan correctly', async () => {
    const stages = Array.from({ length: 100 }, (_, i) => `s${i}`);
    let yaml = `stages: [${stages.join(', ')}]\n`;
    for (let i = 0; i < 500; i++) {
      const stage = Math.floor(i / 5);
      yaml += `j${i}:\n  stage: s${stage}\n  script: echo ${i}\n`;
      if (stage > 0 && i % 5 === 0) yaml += `  needs: [j${i - 5}]\n`;
    }
    const p = await plan(yaml);
    assert.equal(p.jobs.length, 500);
    assert.equal(p.stages.length, 102 - 2);
    assert.deepEqual(p.jobs[495].needs?.map((n) => n.job), ['j490']);
    assert.equal(p.jobs[499].needs, null);
    assert.ok(p.jobs.every((j, i) => i === 0 || p.jobs[i - 1].stageIndex <= j.stageIndex));
  });
});
