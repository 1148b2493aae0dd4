/**
 * The Docker executor: `slipway ci run` against a real dockerd (started here when none is
 * given) with images imported from a busybox root file system — no registry involved.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../helpers/exec.js';
import { busyboxRootfs, startTestDocker, type TestDocker } from '../helpers/dockerd.js';
import { CLI } from '../helpers/slipway.js';
import { scratchRepos } from '../helpers/ci-work-tree.js';
import { directoryFiles, loadPipeline, planPipeline, type PipelineContext } from '../../src/ci/index.js';
import { runLocalPipeline } from '../../src/ci/run/index.js';

const IMAGE = 'slipway-test/busybox:1';
const SERVICE = 'slipway-test/web:1';
const ENTRY = 'slipway-test/entry:1';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-ci-docker-'));
const { git, repo } = scratchRepos(scratch);
let docker: TestDocker;


interface Summary {
  status: string;
  executor: string;
  jobs: Array<{ name: string; status: string; exit_code: number | null; failure_reason: string | null }>;
}

const cliEnv = (extra: Record<string, string> = {}): Record<string, string | undefined> => ({ HOME: scratch, XDG_CACHE_HOME: join(scratch, 'cache'), DOCKER_HOST: undefined, SLIPWAY_DOCKER_HOST: docker.host, ...extra });

async function run(dir: string, args: string[] = [], env: Record<string, string> = {}) {
  const r = await exec('node', [CLI, 'ci', 'run', '--json', '--cwd', dir, ...args], { env: cliEnv(env) });
  let summary: Summary;
  try {
    summary = JSON.parse(r.stdout) as Summary;
  } catch {
    assert.fail(`no JSON summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const job = (name: string) => summary.jobs.find((j) => j.name === name) ?? assert.fail(`no job ${name}: ${r.stderr}`);
  return { code: r.code, summary, log: r.stderr, job, lines: (name: string) => linesOf(r.stderr, name) };
}

const linesOf = (log: string, job: string) =>
  log
    .split('\n')
    .filter((l) => l.startsWith(`${job} `))
    .map((l) => l.slice(job.length).trim());

/** Containers and networks the executor made that still exist (there must be none after a run). */
async function leftovers(): Promise<string[]> {
  const filter = encodeURIComponent(JSON.stringify({ label: ['slipway.ci'] }));
  const containers = (await docker.api('GET', `/containers/json?all=1&filters=${filter}`)) as Array<{ Names: string[] }>;
  const networks = (await docker.api('GET', `/networks?filters=${filter}`)) as Array<{ Name: string }>;
  return [...containers.flatMap((c) => c.Names), ...networks.map((n) => n.Name)];
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('docker executor', () => {
  before(async () => {
    docker = await startTestDocker();
    const rootfs = busyboxRootfs(join(scratch, 'rootfs'), { 'etc/os-release': 'ID=slipway-test\nNAME="Slipway test image"\n', 'etc/marker': 'baked into the image\n' });
    await docker.importImage(IMAGE, rootfs, ['CMD ["/bin/sh"]']);
    await docker.importImage(SERVICE, rootfs, ['EXPOSE 8080']);
    // An image whose entrypoint ignores the job: runnable only with `entrypoint: [""]`.
    await docker.importImage(ENTRY, rootfs, ['ENTRYPOINT ["/bin/echo", "entrypoint ran instead"]']);
  });

  after(async () => {
    await docker?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('jobs run in their image with the checkout at /builds/<project>, their variables, exit codes and entrypoints', async () => {
    const dir = repo({
      'checkout.txt': 'from the repository\n',
      '.gitlab-ci.yml': `
stages: [build, test]
variables:
  GREETING: hello
inside:
  stage: build
  image: ${IMAGE}
  variables:
    DERIVED: "$GREETING from $CI_PROJECT_NAME"
  script:
    - cat /etc/marker
    - grep ID= /etc/os-release
    - echo "dir=$CI_PROJECT_DIR builds=$CI_BUILDS_DIR pwd=$(pwd)"
    - echo "derived=$DERIVED pipeline=$FROM_CLI secret=$SECRET"
    - cat checkout.txt
    - echo made-in-container > made.txt
  artifacts:
    paths: [made.txt]
  after_script:
    - echo "after status=$CI_JOB_STATUS"
reads:
  stage: test
  image: { name: ${IMAGE} }
  script:
    - cat made.txt
fails:
  stage: build
  image: ${IMAGE}
  allow_failure: true
  script:
    - echo before the failure
    - sh -c 'exit 3'
    - echo never printed
entry-ignored:
  stage: build
  image: ${ENTRY}
  script: [echo from the job]
entry-cleared:
  stage: build
  image: { name: ${ENTRY}, entrypoint: [""] }
  script: [echo from the job]
`,
    });
    const r = await run(dir, ['--variable', 'FROM_CLI=cli-value', '--masked-variable', 'SECRET=hunter2hunter2']);
    const inside = r.lines('inside');
    assert.equal(r.job('inside').status, 'success', r.log);
    assert.ok(inside.includes('baked into the image'), r.log);
    assert.ok(inside.includes('ID=slipway-test'), r.log);
    assert.ok(inside.includes('dir=/builds/acme/shop builds=/builds pwd=/builds/acme/shop'), r.log);
    assert.ok(inside.includes('derived=hello from shop pipeline=cli-value secret=[MASKED]'), r.log);
    assert.ok(inside.includes('from the repository'), r.log);
    assert.ok(inside.includes('after status=success'), r.log);
    assert.ok(!r.log.includes('hunter2hunter2'));
    assert.equal(r.job('reads').status, 'success', r.log);
    assert.ok(r.lines('reads').includes('made-in-container'), r.log);

    assert.equal(r.job('fails').status, 'failed');
    assert.equal(r.job('fails').exit_code, 3);
    assert.equal(r.job('fails').failure_reason, 'script_failure');
    assert.ok(r.lines('fails').includes('before the failure'));
    assert.ok(!r.lines('fails').includes('never printed'));

    // The image's entrypoint is kept unless the job overrides it, as in GitLab.
    assert.equal(r.job('entry-ignored').status, 'success', r.log);
    assert.ok(r.lines('entry-ignored').some((l) => l.startsWith('entrypoint ran instead')), r.log);
    assert.ok(!r.lines('entry-ignored').includes('from the job'), r.log);
    assert.equal(r.job('entry-cleared').status, 'success', r.log);
    assert.ok(r.lines('entry-cleared').includes('from the job'), r.log);

    assert.equal(r.summary.executor, 'docker');
    assert.equal(r.code, 0);
    assert.deepEqual(await leftovers(), []);
  });

  test('services are reachable by alias and by the names GitLab derives from the image', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
variables:
  GREETING: hi
with-service:
  image: ${IMAGE}
  services:
    - name: ${SERVICE}
      alias: web
      variables:
        MESSAGE: "service says $GREETING"
      command: ["sh", "-c", "mkdir -p /www && echo \\"$MESSAGE, pipeline=\${FROM_CLI:-hidden}\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
  script:
    - wget -qO- http://web:8080/index.html
    - wget -qO- http://slipway-test__web:8080/index.html
    - wget -qO- http://slipway-test-web:8080/index.html
`,
    });
    const r = await run(dir, ['--variable', 'FROM_CLI=not-for-services']);
    assert.equal(r.job('with-service').status, 'success', r.log);
    assert.equal(r.lines('with-service').filter((l) => l === 'service says hi, pipeline=hidden').length, 3, r.log);
    assert.deepEqual(await leftovers(), []);
  });

  test('on the host network, service aliases name 127.0.0.1', async () => {
    const port = await freePort();
    const dir = repo({
      '.gitlab-ci.yml': `
host-net:
  image: ${IMAGE}
  services:
    # No EXPOSE in this image: nothing to wait for, the job retries instead.
    - name: ${IMAGE}
      alias: web
      command: ["sh", "-c", "mkdir -p /www && echo on-host > /www/index.html && exec httpd -f -p ${port} -h /www"]
  script:
    - for i in $(seq 1 100); do wget -qO- http://web:${port}/index.html && exit 0; sleep 0.1; done; exit 1
`,
    });
    const r = await run(dir, [], { SLIPWAY_DOCKER_NETWORK: 'host' });
    assert.equal(r.job('host-net').status, 'success', r.log);
    assert.ok(r.lines('host-net').includes('on-host'), r.log);
    assert.deepEqual(await leftovers(), []);
  });

  test('a timeout kills the container and everything in it; a missing image is a clear runner failure', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
slow:
  image: ${IMAGE}
  timeout: 2 seconds
  script:
    - sleep 300 &
    - sleep 300
  after_script: [echo after a timeout]
absent:
  image: slipway-test/absent:7
  script: [echo never]
`,
    });
    const r = await run(dir);
    assert.equal(r.job('slow').status, 'failed');
    assert.equal(r.job('slow').failure_reason, 'job_execution_timeout');
    assert.ok(!r.lines('slow').includes('after a timeout'));
    assert.equal(r.job('absent').status, 'failed');
    assert.equal(r.job('absent').failure_reason, 'runner_system_failure');
    assert.ok(r.log.includes('image slipway-test/absent:7 is not available on this Docker engine; docker pull or docker import it'), r.log);
    assert.deepEqual(await leftovers(), []);
  });

  test('Ctrl-C cancels a running container job and removes it', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
long:
  image: ${IMAGE}
  script:
    - echo started
    - sleep 300
`,
    });
    const child = spawn('node', [CLI, 'ci', 'run', '--cwd', dir], { env: { ...process.env, ...cliEnv() } as NodeJS.ProcessEnv });
    let log = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        log += c.toString();
        if (/long\s+started/.test(log)) resolve();
      });
      child.stderr.on('data', (c: Buffer) => (log += c.toString()));
      child.on('close', () => reject(new Error(`ended before the job started:\n${log}`)));
    });
    child.kill('SIGINT');
    assert.equal(await exited, 130, log);
    assert.match(log, /long\s+canceled/, log);
    assert.deepEqual(await leftovers(), []);
  });

  test('server-style runs: file variables reach the container; a project variable opts into the shell', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
with-file:
  image: ${IMAGE}
  script:
    - echo "file=$KUBECONFIG"
    - cat "$KUBECONFIG"
`,
    });
    const context: PipelineContext = { source: 'push', branch: 'main', sha: '0'.repeat(40), defaultBranch: 'main', projectPath: 'acme/shop' };
    const loaded = await loadPipeline({ files: directoryFiles(dir), context });
    const plan = planPipeline(loaded, context);
    const lines: string[] = [];
    const runWith = (projectVariables: Record<string, string>) =>
      runLocalPipeline({
        projectDir: dir,
        plan,
        config: loaded.config ?? {},
        context: { ...context, projectVariables },
        stateDir: join(scratch, 'state'),
        // As the server does: file variables are written next to the job directory.
        prepareJob: async (_job, info) => {
          const path = `${info.predefined.CI_PROJECT_DIR}.tmp/KUBECONFIG`;
          return { projectVariables: { ...projectVariables, KUBECONFIG: path }, files: { [path]: 'apiVersion: v1\n' } };
        },
        onOutput: (_job, text) => lines.push(...text.split('\n')),
      });
    process.env.SLIPWAY_DOCKER_HOST = docker.host;
    try {
      const inDocker = await runWith({});
      assert.equal(inDocker.status, 'success', lines.join('\n'));
      assert.equal(inDocker.executor, 'docker');
      assert.ok(lines.includes('file=/builds/acme/shop.tmp/KUBECONFIG'), lines.join('\n'));
      assert.ok(lines.includes('apiVersion: v1'), lines.join('\n'));

      lines.length = 0;
      process.env.SLIPWAY_DOCKER_HOST = 'none';
      const onShell = await runWith({ SLIPWAY_CI_SHELL_FOR_IMAGES: '1' });
      assert.equal(onShell.status, 'success', lines.join('\n'));
      assert.match(onShell.executor, /^shell/);
      assert.ok(lines.includes('apiVersion: v1'), lines.join('\n'));
    } finally {
      delete process.env.SLIPWAY_DOCKER_HOST;
    }
    assert.deepEqual(await leftovers(), []);
  });

  test('without an engine an image job fails clearly, unless the run opts into the shell executor', async () => {
    const dir = repo({
      '.gitlab-ci.yml': `
imaged:
  image: ${IMAGE}
  script: [echo ran on the shell]
`,
    });
    const none = await run(dir, [], { SLIPWAY_DOCKER_HOST: 'none' });
    assert.equal(none.job('imaged').status, 'failed');
    assert.equal(none.job('imaged').failure_reason, 'runner_unsupported');
    assert.ok(none.log.includes('no Docker engine is available'), none.log);
    assert.ok(none.log.includes('pass --shell (or set SLIPWAY_CI_SHELL_FOR_IMAGES=1 on the project)'), none.log);

    const dead = await run(dir, [], { SLIPWAY_DOCKER_HOST: `unix://${join(scratch, 'no-such.sock')}` });
    assert.equal(dead.job('imaged').failure_reason, 'runner_system_failure');
    assert.ok(dead.log.includes('does not answer'), dead.log);

    const shell = await run(dir, ['--shell'], { SLIPWAY_DOCKER_HOST: 'none' });
    assert.equal(shell.job('imaged').status, 'success', shell.log);
    assert.ok(shell.lines('imaged').includes('ran on the shell'));
    const variable = await run(dir, ['--variable', 'SLIPWAY_CI_SHELL_FOR_IMAGES=1'], { SLIPWAY_DOCKER_HOST: 'none' });
    assert.equal(variable.job('imaged').status, 'success', variable.log);
  });
});
