// Which executor runs a job that names `image:` or `services:`: the Docker executor when an
// engine is configured or the default socket answers; the shell executor when the run opts
// in (`--shell`, or the project or pipeline variable SLIPWAY_CI_SHELL_FOR_IMAGES=1); else the
// job fails with a message saying which of the two to set up. The engine is probed once per
// run, and only when such a job starts (the Docker modules are loaded only then too).
import type { Hash } from '../types.js';
import type { Executor, FailureReason } from './contract.js';
import type { EngineChoice } from './docker-engine.js';
import type { DockerExecutor } from './docker-executor.js';

export type ContainerRoute =
  | { kind: 'docker'; executor: Executor; paths: { CI_BUILDS_DIR: string; CI_PROJECT_DIR: string } }
  | { kind: 'shell' }
  | { kind: 'fail'; failureReason: FailureReason; message: string };

const given = (value: unknown): boolean => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

/** Whether the job (after `default:`) asks for containers. */
export const usesContainers = (config: Hash): boolean => given(config.image) || given(config.services);

const truthy = (value: string | undefined): boolean => value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());

export interface RouterOptions {
  /** `--shell`: run image jobs on the shell executor even when an engine is there. */
  shellForImages?: boolean;
  projectVariables?: Record<string, string>;
  pipelineVariables?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** Returns the router for one run: job → where it runs. */
export function containerRouter(options: RouterOptions): (config: Hash, projectPath: string | undefined) => Promise<ContainerRoute> {
  const env = options.env ?? process.env;
  const shell = options.shellForImages === true || truthy(options.projectVariables?.SLIPWAY_CI_SHELL_FOR_IMAGES) || truthy(options.pipelineVariables?.SLIPWAY_CI_SHELL_FOR_IMAGES);
  let engine: Promise<EngineChoice> | undefined;
  let executor: DockerExecutor | undefined;
  return async (config, projectPath) => {
    if (shell) return { kind: 'shell' };
    const found = await (engine ??= import('./docker-engine.js').then((m) => m.findDockerEngine(env)));
    const image = typeof config.image === 'string' ? config.image : JSON.stringify(config.image ?? config.services);
    const optIn = 'pass --shell (or set SLIPWAY_CI_SHELL_FOR_IMAGES=1 on the project) to run it on the shell executor';
    if (found.kind === 'none') return { kind: 'fail', failureReason: 'runner_unsupported', message: `the job uses image ${image}, and no Docker engine is available (${found.reason}); ${optIn}` };
    if (found.kind === 'broken') return { kind: 'fail', failureReason: 'runner_system_failure', message: `the job uses image ${image}, but ${found.reason}; ${optIn}` };
    const docker = await import('./docker-executor.js');
    executor ??= new docker.DockerExecutor({ api: found.api, network: env.SLIPWAY_DOCKER_NETWORK === 'host' ? 'host' : 'job' });
    return { kind: 'docker', executor, paths: { CI_BUILDS_DIR: docker.DOCKER_BUILDS_DIR, CI_PROJECT_DIR: docker.dockerProjectDir(projectPath) } };
  };
}
