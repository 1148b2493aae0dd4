/** `slipway ci lint` and `slipway ci list` on sample projects in real git repositories. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { CLI } from '../helpers/slipway.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-cli-'));
const gitEnv = { ...process.env, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
let counter = 0;

function repo(files: Record<string, string>, branch = 'main'): string {
  const dir = join(scratch, `repo${counter++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'remote', 'add', 'origin', 'git@gitlab.example.com:acme/shop.git');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'pipeline');
  return dir;
}

const slipway = (...args: string[]) => exec('node', [CLI, ...args], { env: { HOME: scratch } });

const PIPELINE = `
stages: [build, test, deploy]
workflow:
  rules:
    - if: $CI_COMMIT_TAG
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH
build:
  stage: build
  script: make
  parallel:
    matrix:
      - ARCH: [amd64, arm64]
unit:
  script: make test
  needs: [build]
review:
  stage: deploy
  script: deploy review
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: manual
production:
  stage: deploy
  script: deploy prod
  rules:
    - if: $CI_COMMIT_TAG =~ /^v\\d+/
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
  needs: [unit]
`;

describe('slipway ci', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('ci list --json plans the checked-out branch', async () => {
    const dir = repo({ '.gitlab-ci.yml': PIPELINE });
    const r = await slipway('ci', 'list', '--json', '--cwd', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      { name: 'build: [amd64]', stage: 'build', when: 'on_success', allow_failure: false, needs: null },
      { name: 'build: [arm64]', stage: 'build', when: 'on_success', allow_failure: false, needs: null },
      { name: 'unit', stage: 'test', when: 'on_success', allow_failure: false, needs: ['build: [amd64]', 'build: [arm64]'] },
      { name: 'production', stage: 'deploy', when: 'manual', allow_failure: false, needs: ['unit'] },
    ]);
  });

  test('ci list --tag, --source merge_request_event and a branch workflow:rules refuses', async () => {
    const dir = repo({ '.gitlab-ci.yml': PIPELINE });
    const tag = JSON.parse((await slipway('ci', 'list', '--json', '--cwd', dir, '--tag', 'v1.0')).stdout) as Array<{ name: string; when: string }>;
    assert.deepEqual(tag.map((j) => [j.name, j.when]).at(-1), ['production', 'on_success']);
    const mr = JSON.parse((await slipway('ci', 'list', '--json', '--cwd', dir, '--source', 'merge_request_event', '--branch', 'feature/x')).stdout) as Array<{ name: string; when: string }>;
    // workflow:rules drops the implicit only: [branches, tags], so jobs without rules are in MR pipelines too
    assert.deepEqual(mr.map((j) => j.name), ['build: [amd64]', 'build: [arm64]', 'unit', 'review']);
  });

  test('ci list --variable feeds rules', async () => {
    const dir = repo({ '.gitlab-ci.yml': 'job:\n  script: x\n  rules:\n    - if: $RUN_IT == "yes"\n' }, 'dev');
    assert.deepEqual(JSON.parse((await slipway('ci', 'list', '--json', '--cwd', dir)).stdout), []);
    const r = await slipway('ci', 'list', '--json', '--cwd', dir, '--variable', 'RUN_IT=yes');
    assert.deepEqual(JSON.parse(r.stdout).map((j: { name: string }) => j.name), ['job']);
  });

  test('ci lint: valid, and errors as file:line: reason with exit 1', async () => {
    const good = repo({ '.gitlab-ci.yml': PIPELINE });
    const ok = await slipway('ci', 'lint', '--cwd', good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\.gitlab-ci\.yml is valid/);

    const bad = repo({ '.gitlab-ci.yml': 'include: ci/deploy.yml\nbuild:\n  script: x\n', 'ci/deploy.yml': 'deploy:\n  stage: ship\n  script: x\n' });
    const r = await slipway('ci', 'lint', '--cwd', bad);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'ci/deploy.yml:2: deploy: stage "ship" is not declared in stages (.pre, build, test, deploy, .post)');
    const json = await slipway('ci', 'lint', '--json', '--cwd', bad);
    assert.equal(JSON.parse(json.stdout).errors[0].line, 2);
  });

  test('ci lint names the line of a bad list item, also inside anchors and spliced lists', async () => {
    const dir = repo({ '.gitlab-ci.yml': '.shared: &shared\n  - echo a\n  - [echo b, {x: 1}]\nf:\n  script:\n    - *shared\n    - {y: 2}\n  needs:\n    -\n    - {job: 3}\n' });
    const r = await slipway('ci', 'lint', '--cwd', dir);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      '.gitlab-ci.yml:3: f:script[2]: must be a string or a list',
      '.gitlab-ci.yml:7: f:script[3]: must be a string or a list',
      '.gitlab-ci.yml:10: f:needs[0]:job: must be a string',
    ]);
  });

  test('ci list refuses to plan an invalid pipeline', async () => {
    const dir = repo({ '.gitlab-ci.yml': 'a:\n  script: x\n  needs: [a]\n' });
    const r = await slipway('ci', 'list', '--json', '--cwd', dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^\.gitlab-ci\.yml:3: a: circular dependency detected in needs: a → a$/m);
  });
});
