// A job's `services:`: one container each, started before the job on the job's network under
// its aliases, and waited for as GitLab Runner does (the TCP ports its image EXPOSEs, up to
// 30 s; a service that is not up is a warning, not a failure). On the host network there is
// no DNS for aliases: the job gets them as /etc/hosts names for 127.0.0.1 instead.
import type { DockerApi } from './docker-api.js';
import { containerTail, createContainer, uniqueName } from './docker-container.js';
import { ensureImage, exposedTcpPorts, type ServiceSpec } from './docker-image.js';

export const SERVICE_WAIT_MS = 30_000;

export interface ServiceStart {
  api: DockerApi;
  services: ServiceSpec[];
  /** The per-job network's name, or undefined for the host network. */
  network: string | undefined;
  /** Variables every service receives (its own `variables` win). */
  env: Record<string, string>;
  signal: AbortSignal;
  log(line: string): void;
  /** Each started container's id, as soon as it exists (so it is removed whatever happens next). */
  started(id: string): void;
  waitMs?: number;
}

interface ContainerInspect {
  State?: { Running?: boolean; Status?: string; ExitCode?: number };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** Starts the services; returns the /etc/hosts entries the job needs (host network only). */
export async function startServices(o: ServiceStart): Promise<string[]> {
  const extraHosts: string[] = [];
  const waits: Promise<void>[] = [];
  for (const service of o.services) {
    if (o.signal.aborted) break;
    o.log(`Starting service ${service.ref} as ${service.aliases.join(', ')} ...`);
    const image = await ensureImage(o.api, service, o.signal, o.log);
    const env = { ...o.env, ...service.variables };
    const config: Record<string, unknown> = {
      Image: service.ref,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { 'slipway.ci.service': service.aliases[0] ?? service.name },
      HostConfig: { NetworkMode: o.network ?? 'host' },
    };
    if (o.network) config.NetworkingConfig = { EndpointsConfig: { [o.network]: { Aliases: service.aliases } } };
    if (service.entrypoint) config.Entrypoint = service.entrypoint;
    if (service.command) config.Cmd = service.command;
    if (service.user) config.User = service.user;
    const id = await createContainer(o.api, uniqueName('slipway-service', service.aliases[0] ?? 'service'), config, service.platform);
    o.started(id);
    await o.api.call('POST', `/containers/${id}/start`);
    if (!o.network) for (const alias of service.aliases) extraHosts.push(`${alias}:127.0.0.1`);
    const ports = exposedTcpPorts(image);
    if (ports.length) waits.push(waitForService(o, service, id, ports));
  }
  await Promise.all(waits);
  return extraHosts;
}

/** Waits until every port answers, the container dies, or the time is up; warns unless all answered. */
async function waitForService(o: ServiceStart, service: ServiceSpec, id: string, ports: number[]): Promise<void> {
  const deadline = Date.now() + (o.waitMs ?? SERVICE_WAIT_MS);
  const pending = new Set(ports);
  let problem = '';
  while (pending.size && !o.signal.aborted) {
    const state = await o.api.call<ContainerInspect>('GET', `/containers/${id}/json`);
    if (!state.State?.Running) {
      problem = `the container exited with code ${state.State?.ExitCode ?? '?'}`;
      break;
    }
    const address = o.network ? state.NetworkSettings?.Networks?.[o.network]?.IPAddress || undefined : '127.0.0.1';
    if (!address) {
      problem = 'the container has no address on the job network';
      break;
    }
    for (const port of [...pending]) if (await answers(address, port)) pending.delete(port);
    if (!pending.size) return;
    if (Date.now() > deadline) {
      problem = `no answer on port ${[...pending].join(', ')} within ${Math.round((o.waitMs ?? SERVICE_WAIT_MS) / 1000)} s`;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!problem) return;
  const tail = await containerTail(o.api, id);
  o.log(`*** WARNING: Service ${service.ref} probably didn't start properly: ${problem}`);
  if (tail.trim()) o.log(`Service container logs:\n${tail.replace(/\n$/, '')}`);
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = process.getBuiltinModule('node:net').connect({ host, port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
