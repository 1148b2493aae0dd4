// One container's life through the Engine API: create, start, stream its output, wait for its
// exit, kill it on timeout or cancel (its pid namespace dies with its first process, so the
// whole tree goes), and remove it. Plus the per-job networks.
import { DockerApiError, readFrames, type DockerApi } from './docker-api.js';

/** Marks everything Slipway creates, so leftovers can be found (`docker ps -a --filter label=slipway.ci`). */
export const LABEL = 'slipway.ci';

export const uniqueName = (prefix: string, hint: string): string => {
  const slug = hint.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 40);
  return `${prefix}-${slug ? `${slug}-` : ''}${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}`;
};

export async function createContainer(api: DockerApi, name: string, config: Record<string, unknown>, platform?: string): Promise<string> {
  const query = `name=${encodeURIComponent(name)}${platform ? `&platform=${encodeURIComponent(platform)}` : ''}`;
  const created = await api.call<{ Id: string }>('POST', `/containers/create?${query}`, { body: { ...config, Labels: { ...(config.Labels as object), [LABEL]: '1' } } });
  return created.Id;
}

export interface RunOutcome {
  code: number;
  timedOut: boolean;
  aborted: boolean;
}

/** Starts a created container, streams its output to `onText` and resolves when it has exited. */
export async function runContainer(api: DockerApi, id: string, options: { onText(text: string): void; timeoutMs: number; signal?: AbortSignal }): Promise<RunOutcome> {
  let timedOut = false;
  let aborted = false;
  const kill = () => api.call('POST', `/containers/${id}/kill`).catch(() => undefined);
  const onAbort = () => {
    aborted = true;
    void kill();
  };
  await api.call('POST', `/containers/${id}/start`);
  const timer = options.timeoutMs > 0 && Number.isFinite(options.timeoutMs) ? setTimeout(() => ((timedOut = true), void kill()), Math.min(options.timeoutMs, 2 ** 31 - 1)) : undefined;
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Logs from the beginning (no `since`), so nothing written before this request is lost.
    let receivedChars = 0;
    const onText = (text: string) => {
      receivedChars += text.length;
      options.onText(text);
    };
    const logs = api
      .open('GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1`)
      .then((res) => ({ res, done: readFrames(res, onText) }))
      .catch((e: Error) => (options.onText(`WARNING: could not read the job's output: ${e.message}\n`), undefined));
    const waited = await api.call<{ StatusCode: number }>('POST', `/containers/${id}/wait`);
    const stream = await logs;
    if (stream) {
      // The log stream ends with the container; a stuck one must not hold the job.
      const grace = setTimeout(() => stream.res.destroy(), 2000);
      await stream.done;
      clearTimeout(grace);
    }
    // A follow stream can end before the engine has logged a short-lived container's last
    // lines (seen with Docker 20.10): read the whole log once more and pass on what was missed.
    let full = '';
    try {
      await readFrames(await api.open('GET', `/containers/${id}/logs?stdout=1&stderr=1`), (t) => (full += t));
    } catch {
      // the follow stream is all there is
    }
    if (full.length > receivedChars) options.onText(full.slice(receivedChars));
    return { code: waited.StatusCode, timedOut, aborted };
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Removes a container, running or not, with its anonymous volumes. */
export async function removeContainer(api: DockerApi, id: string): Promise<void> {
  try {
    await api.call('DELETE', `/containers/${id}?force=1&v=1`);
  } catch (e) {
    if (!(e instanceof DockerApiError && e.status === 404)) throw e;
  }
}

/** The last lines a container wrote (for warnings about services that died). */
export async function containerTail(api: DockerApi, id: string, lines = 20): Promise<string> {
  let text = '';
  try {
    await readFrames(await api.open('GET', `/containers/${id}/logs?stdout=1&stderr=1&tail=${lines}`), (t) => (text += t));
  } catch {
    // gone
  }
  return text;
}

/** A user-defined bridge network for one job, or the engine's reason why not. */
export async function createNetwork(api: DockerApi, name: string): Promise<{ id: string } | { error: string }> {
  try {
    const created = await api.call<{ Id: string }>('POST', '/networks/create', { body: { Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL]: '1' } } });
    return { id: created.Id };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export async function removeNetwork(api: DockerApi, id: string): Promise<void> {
  try {
    await api.call('DELETE', `/networks/${id}`);
  } catch (e) {
    if (!(e instanceof DockerApiError && e.status === 404)) throw e;
  }
}
