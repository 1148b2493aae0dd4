// A small client for the Docker Engine API over its unix socket (or plain tcp://), with
// node:http only. Paths carry no API version: the engine then speaks its own newest one, and
// the few fields used here have been stable for years. node:http is fetched when a call is
// made: a static import would load it at every `slipway ci run` (ci-local.js is one file).
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

export interface DockerEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** How people wrote it (unix:///var/run/docker.sock). */
  label: string;
}

/** `unix:///path`, `/path` or `tcp://host:port` (no TLS). */
export function parseDockerHost(value: string): DockerEndpoint {
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length), label: value };
  if (value.startsWith('/')) return { socketPath: value, label: `unix://${value}` };
  const tcp = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (tcp) return { host: tcp[1], port: Number(tcp[2] ?? 2375), label: value };
  throw new Error(`unsupported Docker host ${JSON.stringify(value)} (use unix:///path or tcp://host:port)`);
}

export class DockerApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface CallOptions {
  body?: unknown;
  /** Aborting destroys the request (used for long waits and pulls). */
  signal?: AbortSignal;
  /** Gives up when the engine says nothing for this long. */
  timeoutMs?: number;
}

export class DockerApi {
  constructor(readonly endpoint: DockerEndpoint) {}

  /** Sends a request and returns the response, still unread. */
  open(method: string, path: string, options: CallOptions = {}): Promise<IncomingMessage> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = process.getBuiltinModule('node:http').request({
        socketPath: this.endpoint.socketPath,
        host: this.endpoint.socketPath ? 'docker' : this.endpoint.host,
        port: this.endpoint.socketPath ? undefined : this.endpoint.port,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        signal: options.signal,
      });
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`the Docker engine at ${this.endpoint.label} did not answer within ${options.timeoutMs} ms`)));
      req.on('error', (e) => reject(new Error(`Docker engine at ${this.endpoint.label}: ${e.message}`)));
      req.on('response', resolve);
      req.end(payload);
    });
  }

  /** A JSON call; statuses of 400 and above become DockerApiError with the engine's message. */
  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const res = await this.open(method, path, options);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // plain text (ping answers "OK")
    }
    if (status >= 400) {
      const message = (parsed as { message?: string } | undefined)?.message ?? (text || `HTTP ${status}`);
      throw new DockerApiError(message.trim(), status);
    }
    return parsed as T;
  }

  /** Whether the engine answers /_ping. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      await this.call('GET', '/_ping', { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/**
 * Reads a non-TTY attach/logs stream: frames of an 8-byte header (stream type, 3 zero bytes,
 * a big-endian length) and that many bytes. Calls `onText` with decoded text of stdout and
 * stderr alike, in order; resolves when the stream ends.
 */
export function readFrames(res: IncomingMessage, onText: (text: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending: Buffer = Buffer.alloc(0);
  return new Promise((resolve) => {
    res.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        const text = decoder.write(pending.subarray(8, 8 + size));
        if (text) onText(text);
        pending = pending.subarray(8 + size);
      }
    });
    const finish = () => {
      const rest = decoder.end();
      if (rest) onText(rest);
      resolve();
    };
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}

/** Streams a JSON-lines progress answer (image pulls) and throws its first error. */
export async function readProgress(res: IncomingMessage): Promise<void> {
  const text = await readAll(res);
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const event = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (event.error) throw new Error(event.errorDetail?.message ?? event.error);
    } catch (e) {
      if (e instanceof SyntaxError) continue;
      throw e;
    }
  }
  if ((res.statusCode ?? 0) >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new Error(message.trim() || `HTTP ${res.statusCode}`);
  }
}
