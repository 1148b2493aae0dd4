// Heroku CI semantics for a project without a .gitlab-ci.yml: app.json's
// environments.test.scripts.test runs on a disposable test app (with the test environment's
// config vars), its result is recorded, the app is destroyed, and it gates auto-deploy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { viaRouter } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let repo: ProjectRepo;
let cli: (...args: string[]) => ReturnType<typeof exec>;

const SERVER = "require('http').createServer((q, r) => r.end(require('fs').readFileSync(__dirname + '/version.txt'))).listen(process.env.PORT);\n";
const APP_JSON = JSON.stringify({
  env: { MODE: 'production' },
  environments: {
    test: {
      env: { MODE: 'test' },
      scripts: { test: 'echo "testing in $MODE mode"; test "$MODE" = test && test -f tests-pass' },
    },
  },
});

async function finishedDeploy(sha: string): Promise<any> {
  return waitFor(`the auto-deploy of ${sha.slice(0, 7)}`, async () => {
    const found = ((await s.api('GET', '/pipelines/kit/auto-deploys')).body as any[]).find((d) => d.sha === sha);
    return found && ['succeeded', 'failed'].includes(found.status) ? found : undefined;
  }, 240_000, 250);
}

async function testRunOf(sha: string): Promise<any> {
  const runs = (await s.api('GET', '/pipelines/kit/test-runs')).body as any[];
  const run = runs.find((r) => r.sha === sha);
  assert.ok(run, `no test run for ${sha}`);
  return run;
}

before(async () => {
  s = await startSlipway();
  const home = mkdtempSync(join(tmpdir(), 'slipway-testrun-home-'));
  const env = { HOME: home, SLIPWAY_CONFIG_DIR: join(home, 'config'), SLIPWAY_URL: s.url, SLIPWAY_API_KEY: s.apiKey, NO_COLOR: '1' };
  cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { cwd: home, env });
  repo = await ProjectRepo.create(s, 'kit');
  assert.equal((await s.api('POST', '/apps', { name: 'kit-staging' })).status, 201);
  const created = await cli('pipelines:create', 'kit', '-a', 'kit-staging', '--stage', 'staging');
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await cli('pipelines:connect', 'kit', '--project', 'kit')).code, 0);
  assert.equal((await cli('pipelines:autodeploy', 'kit', '--branch', 'main', '--stage', 'staging')).code, 0);
});

after(async () => {
  await s?.destroy();
});

test('passing app.json tests on a disposable test app let the commit deploy; the test app is gone', async () => {
  const sha = await repo.commit({ 'app.json': APP_JSON, Procfile: 'web: node server.js\n', 'server.js': SERVER, 'version.txt': 'kit v1\n', 'tests-pass': '' }, 'v1');
  await repo.push('main');
  const deploy = await finishedDeploy(sha);
  assert.equal(deploy.status, 'succeeded', deploy.message);
  assert.match(deploy.message, /^the app\.json test run passed; deployed/);
  assert.ok(deploy.test_run?.id);
  await waitFor('kit-staging to serve v1', async () => (await viaRouter(s, 'kit-staging')).body.includes('kit v1'), 60_000, 200);

  const run = await testRunOf(sha);
  assert.equal(run.status, 'succeeded', run.message);
  assert.equal(run.exit_code, 0);
  assert.match(run.output, /testing in test mode/);
  assert.match(run.app_name, /^kit-test-[0-9a-f]{6}$/);
  await waitFor('the test app to be destroyed', async () => (await s.api('GET', `/apps/${run.app_name}`)).status === 404, 30_000, 200);
  // No CI pipeline: the project has no .gitlab-ci.yml.
  assert.deepEqual((await s.api('GET', '/projects/kit/pipelines')).body, []);
});

test('failing app.json tests block the deploy; the record and pipelines:tests say so', async () => {
  assert.equal((await repo.git('rm', '-q', 'tests-pass')).code, 0);
  const sha = await repo.commit({ 'version.txt': 'kit v2\n' }, 'v2 without passing tests');
  await repo.push('main');
  const deploy = await finishedDeploy(sha);
  assert.equal(deploy.status, 'failed');
  assert.match(deploy.message, /The app\.json test run failed \(exit status 1\): [0-9a-f]{7} was not deployed to staging/);
  const run = await testRunOf(sha);
  assert.equal(run.status, 'failed');
  assert.match(run.message, /^test failed \(exit status 1\)/);
  await waitFor('the failed test app to be destroyed', async () => (await s.api('GET', `/apps/${run.app_name}`)).status === 404, 30_000, 200);
  assert.match((await viaRouter(s, 'kit-staging')).body, /kit v1/);
  assert.equal((await s.api('GET', '/apps/kit-staging/builds')).body.length, 1);

  const shown = await cli('pipelines:tests', 'kit');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`${sha.slice(0, 7)}\\s+main\\s+failed`));
  assert.match(shown.stdout, /main\s+succeeded/);
  const output = await cli('pipelines:tests', 'kit', '--output');
  assert.match(output.stdout, /Running test: echo "testing in \$MODE mode"[\s\S]*test failed/);
});
