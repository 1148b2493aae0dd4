// The Docker executor: each job attempt runs in a container of its `image:` on the local
// Docker engine, with the prepared job directory bind-mounted at CI_PROJECT_DIR (GitLab's
// /builds/<project path>) and exactly the job's variables added to the image's environment.
// `services:` run beside it on a per-job network, reachable by alias. The script is the shell
// executor's, run by the first shell the image has (bash, else sh, as GitLab Runner picks).
// Timeout and cancel kill the container; every container and the network are removed after.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionRequest, Executor, JobResult } from './contract.js';
import type { DockerApi } from './docker-api.js';
import { createContainer, createNetwork, removeContainer, removeNetwork, runContainer, uniqueName, type RunOutcome } from './docker-container.js';
import { ensureImage, ImageUnavailableError, jobImage, jobServices, type ImageSpec } from './docker-image.js';
import { startServices } from './docker-services.js';
import { shellScript } from './shell-executor.js';
import { LineMasker } from './variables.js';

export const DOCKER_BUILDS_DIR = '/builds';

/** CI_PROJECT_DIR inside a job container: GitLab's Docker default, /builds/<namespace>/<project>. */
export const dockerProjectDir = (projectPath: string | undefined): string => `${DOCKER_BUILDS_DIR}/${projectPath || 'project'}`;

/** Where the job's scripts are mounted (read-only) in its container. */
const SCRIPTS = '/slipway-ci';

// GitLab Runner's shell detection: the first bash, else the first sh; the script path is $0.
const DETECT_SHELL = 'for s in /usr/local/bin/bash /usr/bin/bash /bin/bash /usr/local/bin/sh /usr/bin/sh /bin/sh /busybox/sh; do if [ -x "$s" ]; then exec "$s" "$0"; fi; done; echo "ERROR: no shell (bash or sh) in this image" >&2; exit 1';

/** The shell executor's script, made safe for a POSIX sh without `pipefail` (dash, older ash). */
export function containerScript(commands: readonly string[]): string {
  return shellScript(commands).replace('set -eo pipefail\n', 'set -e\n(set -o pipefail) 2>/dev/null && set -o pipefail\n');
}

export interface DockerExecutorOptions {
  api: DockerApi;
  /** 'job' (default): a network per job, falling back to the host network if the engine has none. */
  network?: 'job' | 'host';
  /** How long to wait for services' exposed ports (default 30 s). */
  serviceWaitMs?: number;
}

export class DockerExecutor implements Executor {
  readonly name = 'docker';

  constructor(private readonly options: DockerExecutorOptions) {}

  async run(request: ExecutionRequest): Promise<JobResult> {
    const { api } = this.options;
    const masker = new LineMasker(request.masked, request.onOutput);
    const log = (line: string) => masker.write(`${line}\n`);
    const projectDir = request.variables.CI_PROJECT_DIR?.startsWith('/') ? request.variables.CI_PROJECT_DIR : dockerProjectDir(request.variables.CI_PROJECT_PATH);
    const files = fileVariables(request, projectDir);
    const vars = files.variables;
    const image = jobImage(request.job.config.image, vars);
    if (!image) {
      masker.end();
      return { status: 'failed', failureReason: 'runner_unsupported', message: 'the job names no image (services need one: Slipway has no default image for the Docker executor)' };
    }
    const scripts = mkdtempSync(join(tmpdir(), 'slipway-docker-'));
    chmodSync(scripts, 0o755); // readable for an image's non-root user
    const containers: string[] = [];
    let network: string | undefined;
    try {
      log(`Using Docker executor with image ${image.ref} ...`);
      const found = await ensureImage(api, image, request.signal, log);
      log(`Using docker image ${found.Id} for ${image.ref}`);
      if (this.options.network !== 'host') {
        const made = await createNetwork(api, uniqueName('slipway-job', request.job.name));
        if ('id' in made) network = made.id;
        else log(`WARNING: no per-job network (${made.error}); using the host network: services are on 127.0.0.1 and need distinct ports`);
      }
      const extraHosts = await startServices({
        api,
        services: jobServices(request.job.config.services, vars),
        network,
        env: serviceVariables(request),
        signal: request.signal,
        log,
        started: (id) => containers.push(id),
        waitMs: this.options.serviceWaitMs,
      });
      const container = (file: string, script: readonly string[], env: Record<string, string>) => {
        writeFileSync(join(scripts, file), containerScript(script), { mode: 0o644 });
        const binds = [`${request.workdir}:${projectDir}`, `${scripts}:${SCRIPTS}:ro`, ...files.binds];
        return this.create(image, request, projectDir, binds, file, env, network, extraHosts).then((id) => (containers.push(id), id));
      };

      if (request.signal.aborted) return { status: 'canceled', message: 'canceled' };
      const mainId = await container('script.sh', [...request.beforeScript, ...request.script], vars);
      const main = await runContainer(api, mainId, { onText: (t) => masker.write(t), timeoutMs: request.timeoutMs, signal: request.signal });
      const result = resultOf(main, request.timeoutMs);
      // after_script: a new container, after success, script failure or cancel; not after a timeout.
      if (request.afterScript.length > 0 && !main.timedOut) {
        masker.write('Running after_script\n');
        const status = result.status === 'success' ? 'success' : result.status === 'canceled' ? 'canceled' : 'failed';
        try {
          const afterId = await container('after.sh', request.afterScript, { ...vars, CI_JOB_STATUS: status });
          const after = await runContainer(api, afterId, { onText: (t) => masker.write(t), timeoutMs: request.afterScriptTimeoutMs });
          if (after.timedOut) masker.write(`WARNING: after_script timed out after ${formatSeconds(request.afterScriptTimeoutMs)}\n`);
          else if (after.code !== 0) masker.write(`WARNING: after_script failed with exit code ${after.code}\n`);
        } catch (e) {
          // after_script never changes the job's status, not even when its container cannot run.
          masker.write(`WARNING: after_script could not run: ${(e as Error).message}\n`);
        }
      }
      return result;
    } catch (e) {
      if (request.signal.aborted) return { status: 'canceled', message: 'canceled' };
      const message = e instanceof ImageUnavailableError ? e.message : `Docker executor: ${(e as Error).message}`;
      return { status: 'failed', failureReason: 'runner_system_failure', message };
    } finally {
      masker.end();
      await Promise.allSettled(containers.reverse().map((id) => removeContainer(api, id)));
      if (network) await removeNetwork(api, network).catch(() => undefined);
      rmSync(scripts, { recursive: true, force: true });
    }
  }

  private create(image: ImageSpec, request: ExecutionRequest, projectDir: string, binds: string[], file: string, env: Record<string, string>, network: string | undefined, extraHosts: string[]): Promise<string> {
    const config: Record<string, unknown> = {
      Image: image.ref,
      Cmd: ['sh', '-c', DETECT_SHELL, `${SCRIPTS}/${file}`],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: projectDir,
      Labels: { 'slipway.ci.job': request.job.name },
      HostConfig: {
        Binds: binds,
        NetworkMode: network ?? 'host',
        ...(extraHosts.length ? { ExtraHosts: extraHosts } : {}),
      },
    };
    if (image.entrypoint) config.Entrypoint = image.entrypoint;
    if (image.user) config.User = image.user;
    return createContainer(this.options.api, uniqueName('slipway-job', request.job.name), config, image.platform);
  }
}

/**
 * File-type variables live next to the job directory (`<workdir>.tmp/NAME`, as GitLab Runner
 * keeps them): that directory is mounted next to CI_PROJECT_DIR and the paths are rewritten.
 */
function fileVariables(request: ExecutionRequest, projectDir: string): { variables: Record<string, string>; binds: string[] } {
  const hostDir = `${request.workdir}.tmp`;
  if (!existsSync(hostDir)) return { variables: request.variables, binds: [] };
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.variables)) variables[name] = value.startsWith(`${hostDir}/`) ? `${projectDir}.tmp/${value.slice(hostDir.length + 1)}` : value;
  return { variables, binds: [`${hostDir}:${projectDir}.tmp:ro`] };
}

function resultOf(outcome: RunOutcome, timeoutMs: number): JobResult {
  if (outcome.timedOut) return { status: 'failed', failureReason: 'job_execution_timeout', message: `execution took longer than ${formatSeconds(timeoutMs)}` };
  if (outcome.aborted) return { status: 'canceled', message: 'canceled' };
  if (outcome.code === 0) return { status: 'success', exitCode: 0 };
  return { status: 'failed', exitCode: outcome.code, failureReason: 'script_failure', message: `exit code ${outcome.code}` };
}

/**
 * What services see: the job's YAML and predefined variables, never project or pipeline
 * variables that the YAML does not name (GitLab passes only non-secret variables), nor masked values.
 */
// Predefined secrets (CI_JOB_TOKEN, CI_REGISTRY_PASSWORD…) stay with the job.
const SECRET = /TOKEN|PASSWORD|JWT/;

function serviceVariables(request: ExecutionRequest): Record<string, string> {
  const masked = new Set(request.masked);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.variables)) {
    const predefined = (name === 'CI' || name.startsWith('CI_') || name.startsWith('GITLAB_')) && !SECRET.test(name);
    if ((name in request.job.variables || predefined) && !masked.has(value)) out[name] = value;
  }
  return out;
}

function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s} seconds`;
}
