// Which Docker engine CI jobs with `image:` use: SLIPWAY_DOCKER_HOST, else DOCKER_HOST (both
// configure one explicitly; `none` turns Docker off), else the default socket when it exists
// and answers /_ping. A configured engine that does not answer is an error for the job, not a
// silent fall back to the shell.
import { existsSync } from 'node:fs';
import { DockerApi, parseDockerHost } from './docker-api.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export type EngineChoice =
  | { kind: 'none'; reason: string }
  | { kind: 'engine'; api: DockerApi }
  | { kind: 'broken'; reason: string };

/** The engine the environment names, or none: no probing beyond the default socket's ping. */
export async function findDockerEngine(env: NodeJS.ProcessEnv = process.env): Promise<EngineChoice> {
  const configured = env.SLIPWAY_DOCKER_HOST || env.DOCKER_HOST;
  if (configured === 'none') return { kind: 'none', reason: 'Docker is turned off (SLIPWAY_DOCKER_HOST=none)' };
  if (configured) {
    let api: DockerApi;
    try {
      api = new DockerApi(parseDockerHost(configured));
    } catch (e) {
      return { kind: 'broken', reason: (e as Error).message };
    }
    if (!(await api.ping())) return { kind: 'broken', reason: `the Docker engine at ${api.endpoint.label} does not answer` };
    return { kind: 'engine', api };
  }
  if (!existsSync(DEFAULT_DOCKER_SOCKET)) return { kind: 'none', reason: `no Docker engine is configured (SLIPWAY_DOCKER_HOST, DOCKER_HOST) and ${DEFAULT_DOCKER_SOCKET} does not exist` };
  const api = new DockerApi(parseDockerHost(`unix://${DEFAULT_DOCKER_SOCKET}`));
  if (!(await api.ping())) return { kind: 'none', reason: `the Docker engine at unix://${DEFAULT_DOCKER_SOCKET} does not answer` };
  return { kind: 'engine', api };
}
