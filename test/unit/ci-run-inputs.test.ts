/**
 * Inputs for the pipeline file's own `spec:inputs` header, given to a local run with
 * `--input NAME=VALUE` (text read as the declared type), in real git work trees.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { CLI } from '../helpers/slipway.js';
import { scratchRepos } from '../helpers/ci-work-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-inputs-'));
const { repo } = scratchRepos(scratch);
const slipway = (...args: string[]) => exec('node', [CLI, ...args], { env: { HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), SLIPWAY_DOCKER_HOST: 'none' } });

after(() => rmSync(scratch, { recursive: true, force: true }));

const PIPELINE = `spec:
  inputs:
    environment:
      default: staging
      options: [staging, production]
    replicas:
      type: number
      default: 1
    canary:
      type: boolean
      default: false
    regions:
      type: array
      default: [eu]
---
deploy:
  script: echo "to $[[ inputs.environment ]] x$[[ inputs.replicas ]] canary=$[[ inputs.canary ]] regions=$[[ inputs.regions ]]"
canary:
  script: echo canary
  rules:
    - if: '"$[[ inputs.canary ]]" == "true"'
`;

test('ci run gives the entry file its inputs, read as their declared types; the defaults apply otherwise', async () => {
  const dir = repo({ '.gitlab-ci.yml': PIPELINE });
  const given = await slipway('ci', 'run', '--cwd', dir, '--input', 'environment=production', '--input', 'replicas=3', '--input', 'canary=true', '--input', 'regions=["eu","us"]');
  assert.equal(given.code, 0, given.stderr);
  assert.match(given.stdout, /deploy to production x3 canary=true regions=\[eu,us\]/);
  assert.match(given.stdout, /canary canary/);

  const defaults = await slipway('ci', 'run', '--cwd', dir);
  assert.equal(defaults.code, 0, defaults.stderr);
  assert.match(defaults.stdout, /deploy to staging x1 canary=false regions=\[eu\]/);
  assert.doesNotMatch(defaults.stdout, /canary canary/);

  const listed = await slipway('ci', 'list', '--json', '--cwd', dir, '--input', 'canary=true');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((j) => j.name), ['deploy', 'canary']);
});

test('inputs the header refuses stop the run before any job, saying what is wrong', async () => {
  const dir = repo({ '.gitlab-ci.yml': PIPELINE });
  const cases: [string[], RegExp][] = [
    [['--input', 'replicas=three'], /\.gitlab-ci\.yml:1: `replicas` input: provided value is not a number/],
    [['--input', 'canary=yes'], /`canary` input: provided value is not a boolean/],
    [['--input', 'environment=moon'], /`environment` input: `moon` cannot be used because it is not in the list of allowed options/],
    [['--input', 'region=eu'], /unknown input arguments: region/],
    [['--input', 'noequals'], /--input needs NAME=VALUE/],
  ];
  for (const [args, expected] of cases) {
    const r = await slipway('ci', 'run', '--cwd', dir, ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stdout, /deploy \$/, 'no job may start');
  }
  const lint = await slipway('ci', 'lint', '--cwd', dir, '--input', 'environment=moon');
  assert.equal(lint.code, 1);
  assert.match(lint.stderr, /not in the list of allowed options/);
});

test('inputs for a file without a spec header are an error that says how to declare them', async () => {
  const dir = repo({ '.gitlab-ci.yml': 'job:\n  script: echo hi\n' });
  const r = await slipway('ci', 'run', '--cwd', dir, '--input', 'environment=production');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the pipeline was given inputs \(environment\), but this file declares none: add a `spec: inputs:` header above a `---` line/);
});
