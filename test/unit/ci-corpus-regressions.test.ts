/**
 * Shapes seen in real-world pipelines that GitLab accepts and Slipway once rejected or
 * misread. Each case is a minimal reproduction written for this suite.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { directoryFiles, formatCiError, loadPipeline, planPipeline, type PipelineContext } from '../../src/ci/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-corpus-'));
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

const push: PipelineContext = { source: 'push', branch: 'main', sha: 'c'.repeat(40), defaultBranch: 'main', projectPath: 'team/tool' };

async function load(files: Record<string, string>) {
  const dir = project(files);
  const loaded = await loadPipeline({ files: directoryFiles(dir), context: push });
  return { dir, loaded, errors: loaded.errors.map(formatCiError) };
}

async function jobs(files: Record<string, string>) {
  const { dir, loaded, errors } = await load(files);
  assert.deepEqual(errors, []);
  const plan = planPipeline(loaded, { ...push, repositoryFiles: await directoryFiles(dir).list() });
  return plan.jobs;
}

const job = async (files: Record<string, string>, name: string) => {
  const { loaded, errors } = await load(files);
  assert.deepEqual(errors, []);
  return loaded.jobs.find((j) => j.name === name)?.config;
};

describe('YAML documents in one file', () => {
  test('a spec header above --- is not part of the pipeline', async () => {
    const text = 'spec:\n  inputs:\n    flavour:\n      default: plain\n---\nbuild:\n  script: make $[[ inputs.flavour ]]\n';
    assert.deepEqual((await job({ '.gitlab-ci.yml': text }, 'build'))?.script, 'make plain');
  });

  test('without a header only the first document counts', async () => {
    const list = await jobs({ '.gitlab-ci.yml': 'first:\n  script: a\n---\nsecond:\n  script: b\n' });
    assert.deepEqual(list.map((j) => j.name), ['first']);
  });

  test('a leading --- and a trailing --- change nothing', async () => {
    const list = await jobs({ '.gitlab-ci.yml': '---\nonly:\n  script: a\n---\n' });
    assert.deepEqual(list.map((j) => j.name), ['only']);
  });

  test('errors in the content document keep their real line numbers', async () => {
    const { errors } = await load({ '.gitlab-ci.yml': 'spec:\n  inputs: {}\n---\njob:\n  script: x\n  scirpt: y\n' });
    assert.deepEqual(errors, ['.gitlab-ci.yml:6: job:scirpt: unknown keyword "scirpt"']);
  });
});

describe('include inputs', () => {
  const template = [
    'spec:',
    '  inputs:',
    '    name:',
    '    stage:',
    '      default: test',
    '    targets:',
    '      type: array',
    '      default: [a, b]',
    '    level:',
    '      options: [low, high]',
    '      default: low',
    '---',
    '.$[[ inputs.name ]]:',
    '  stage: $[[ inputs.stage ]]',
    '  script: run $[[ inputs.name ]] $[[ inputs.level ]] $[[ inputs.name | truncate(0,3) ]]',
    '  parallel:',
    '    matrix:',
    '      - T: $[[ inputs.targets ]]',
    '',
  ].join('\n');

  test('one file included twice with different inputs gives two templates', async () => {
    const main = 'include:\n  - local: tpl.yml\n    inputs: {name: unit}\n  - local: tpl.yml\n    inputs: {name: lint, stage: build, targets: [x]}\nu:\n  extends: .unit\nl:\n  extends: .lint\n';
    const list = await jobs({ '.gitlab-ci.yml': main, 'tpl.yml': template });
    assert.deepEqual(
      list.map((j) => [j.name, j.stage]),
      [['l: [x]', 'build'], ['u: [a]', 'test'], ['u: [b]', 'test']],
    );
    assert.deepEqual((await job({ '.gitlab-ci.yml': main, 'tpl.yml': template }, 'u'))?.script, 'run unit low uni');
  });

  test('a missing required input, an unknown input and a value outside options are errors', async () => {
    const cases: Array<[string, RegExp]> = [
      ['inputs: {stage: build}', /`name` input: required value has not been provided/],
      ['inputs: {name: x, colour: red}', /unknown input arguments: colour/],
      ['inputs: {name: x, level: extreme}', /`extreme` cannot be used because it is not in the list of allowed options/],
      ['inputs: {name: x, targets: one}', /`targets` input: provided value is not an array/],
    ];
    for (const [inputs, expected] of cases) {
      const { errors } = await load({ '.gitlab-ci.yml': `include:\n  - local: tpl.yml\n    ${inputs}\njob:\n  script: x\n`, 'tpl.yml': template });
      assert.equal(errors.length, 1, inputs);
      assert.match(errors[0], /^\.gitlab-ci\.yml:2: /);
      assert.match(errors[0], expected);
    }
  });

  test('inputs for a file without a spec header are an error; without inputs its blocks stay as written', async () => {
    const plain = 'job:\n  script: echo $[[ inputs.x ]]\n';
    const { errors } = await load({ '.gitlab-ci.yml': 'include:\n  - local: plain.yml\n    inputs: {x: 1}\n', 'plain.yml': plain });
    assert.match(errors[0] ?? '', /Given inputs not defined in the `spec` section/);
    assert.deepEqual((await job({ '.gitlab-ci.yml': 'include: plain.yml\n', 'plain.yml': plain }, 'job'))?.script, 'echo $[[ inputs.x ]]');
  });

  test('an unknown input in a block is an error; other contexts such as matrix are left alone', async () => {
    const { errors } = await load({ '.gitlab-ci.yml': 'spec:\n  inputs: {}\n---\njob:\n  script: echo $[[ inputs.nope ]]\n' });
    assert.match(errors[0] ?? '', /unknown interpolation key: `nope`/);
    const kept = await job({ '.gitlab-ci.yml': 'spec:\n  inputs: {}\n---\njob:\n  script: echo "$[[ matrix.OS ]]"\n' }, 'job');
    assert.deepEqual(kept?.script, 'echo "$[[ matrix.OS ]]"');
  });

  test('include entries of a file with a header see its inputs', async () => {
    const files = {
      '.gitlab-ci.yml': 'include:\n  - local: outer.yml\n    inputs: {which: inner}\n',
      'outer.yml': 'spec:\n  inputs:\n    which:\n---\ninclude:\n  - local: $[[ inputs.which ]].yml\n',
      'inner.yml': 'deep:\n  script: x\n',
    };
    assert.deepEqual((await jobs(files)).map((j) => j.name), ['deep']);
  });
});

describe('references are resolved after extends, as GitLab does', () => {
  test('a reference sees a key the template inherits', async () => {
    const yaml = '.clone:\n  before_script: [git clone x]\n.base:\n  extends: .clone\n  image: alpine\njob:\n  before_script:\n    - !reference [.base, before_script]\n    - make\n  script: x\n';
    assert.deepEqual((await job({ '.gitlab-ci.yml': yaml }, 'job'))?.before_script, ['git clone x', 'make']);
  });

  test('a referenced hash is the merged one', async () => {
    const yaml = '.a:\n  variables: {A: "1"}\n.b:\n  extends: .a\n  variables: {B: "2"}\njob:\n  variables: !reference [.b, variables]\n  script: x\n';
    assert.deepEqual((await job({ '.gitlab-ci.yml': yaml }, 'job'))?.variables, { A: '1', B: '2' });
  });

  test('an include overriding a !reference with another keeps a reference, not a hash', async () => {
    const files = {
      '.gitlab-ci.yml': 'include: base.yml\n.one:\n  script: [one]\n.two:\n  script: [two]\njob:\n  script: !reference [.two, script]\n',
      'base.yml': 'job:\n  script: !reference [.one, script]\n',
    };
    assert.deepEqual((await job(files, 'job'))?.script, ['two']);
  });
});

describe('lists GitLab flattens completely', () => {
  test('rules spliced two levels deep', async () => {
    const yaml = '.tag:\n  rules:\n    - if: $CI_COMMIT_TAG\n.main:\n  rules:\n    - if: $CI_COMMIT_BRANCH == "main"\n.either:\n  rules:\n    - !reference [.tag, rules]\n    - !reference [.main, rules]\njob:\n  rules:\n    - if: $SKIP\n      when: never\n    - !reference [.either, rules]\n  script: x\n';
    assert.deepEqual((await jobs({ '.gitlab-ci.yml': yaml })).map((j) => j.name), ['job']);
  });

  test('cache and needs lists with a referenced list inside', async () => {
    const yaml =
      '.caches:\n  cache:\n    - key: a\n      paths: [a]\n    - key: b\n      paths: [b]\nprep:\n  stage: build\n  script: x\n.deps:\n  needs: [prep]\njob:\n  cache:\n    - !reference [.caches, cache]\n  needs:\n    - !reference [.deps, needs]\n  script: x\n';
    const config = await job({ '.gitlab-ci.yml': yaml }, 'job');
    assert.deepEqual(config?.cache, [{ key: 'a', paths: ['a'] }, { key: 'b', paths: ['b'] }]);
    assert.deepEqual(config?.needs, ['prep']);
  });
});

describe('schema shapes GitLab accepts', () => {
  test('artifacts with an empty paths or exclude list', async () => {
    const yaml = '.big:\n  artifacts:\n    paths: [out]\njob:\n  extends: .big\n  script: x\n  artifacts:\n    paths: []\n    exclude: []\n';
    assert.deepEqual((await jobs({ '.gitlab-ci.yml': yaml })).map((j) => j.name), ['job']);
  });

  test('an unknown artifacts key is still rejected', async () => {
    const { errors } = await load({ '.gitlab-ci.yml': 'job:\n  script: x\n  artifacts:\n    paths: []\n    pathz: [a]\n' });
    assert.deepEqual(errors, ['.gitlab-ci.yml:5: job:artifacts:pathz: unknown keyword "pathz"']);
  });
});

describe('jobs and refs as GitLab reads them (second corpus round)', () => {
  test('a job named pages is an ordinary job', async () => {
    const yaml = 'pages:\n  stage: deploy\n  script: [build-site]\n  artifacts:\n    paths: [public]\ncrawl:\n  stage: deploy\n  needs: [pages]\n  script: [x]\n';
    const list = await jobs({ '.gitlab-ci.yml': yaml });
    assert.deepEqual(list.map((j) => [j.name, j.needs?.map((n) => n.job) ?? null]), [['pages', null], ['crawl', ['pages']]]);
  });

  test('with workflow:rules a job without rules or only is also in merge-request pipelines', async () => {
    const yaml = 'workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n    - if: $CI_COMMIT_BRANCH\nplain:\n  script: [x]\nbranch-only:\n  only: [branches]\n  script: [x]\n';
    const dir = project({ '.gitlab-ci.yml': yaml });
    const mr: PipelineContext = { ...push, source: 'merge_request_event', branch: 'feature' };
    const loaded = await loadPipeline({ files: directoryFiles(dir), context: mr });
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(planPipeline(loaded, mr).jobs.map((j) => j.name), ['plain']);
    const without = await loadPipeline({ files: directoryFiles(project({ '.gitlab-ci.yml': 'plain:\n  script: [x]\nother:\n  rules: [{when: always}]\n  script: [x]\n' })), context: mr });
    assert.deepEqual(planPipeline(without, mr).jobs.map((j) => j.name), ['other']);
  });

  test('an empty needs entry from an anchor is skipped', async () => {
    const yaml = '.extra-needs: &extra-needs\n  -\nbuild:\n  stage: build\n  script: [x]\ntest:\n  needs:\n    - *extra-needs\n    - build\n  script: [x]\n';
    const list = await jobs({ '.gitlab-ci.yml': yaml });
    assert.deepEqual(list.map((j) => [j.name, j.needs?.map((n) => n.job) ?? null]), [['build', null], ['test', ['build']]]);
  });

  test('refs entries with @project only match in that project', async () => {
    const yaml = 'mine:\n  only: [main@team/tool]\n  script: [x]\nfork:\n  only: [main@someone/tool]\n  script: [x]\nnot-upstream:\n  except: [branches@team/tool]\n  script: [x]\nkeyword:\n  only: [branches@team/tool]\n  script: [x]\n';
    assert.deepEqual((await jobs({ '.gitlab-ci.yml': yaml })).map((j) => j.name), ['mine', 'keyword']);
  });
});
