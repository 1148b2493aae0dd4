// HTTP client for the Slipway (Heroku Platform API v3) API: auth headers, JSON, errors,
// Range/Next-Range pagination.
import type { Credentials } from './credentials.js';
import { CliError } from './output.js';

export const ACCEPT = 'application/vnd.heroku+json; version=3';

/** An error answer from the API (`{id, message}`); `message` is what the user sees. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message, 1);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  range?: string;
  headers?: Record<string, string>;
  /** Return the response instead of throwing for these statuses. */
  allow?: number[];
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export class ApiClient {
  readonly url: string;
  constructor(readonly creds: Credentials) {
    this.url = creds.url;
  }

  /** Resolves a path or an absolute URL handed out by the server. */
  resolve(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.url + (pathOrUrl.startsWith('/') ? '' : '/') + pathOrUrl;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Accept: ACCEPT, Authorization: `Bearer ${this.creds.apiKey}`, 'User-Agent': 'slipway-cli', ...extra };
  }

  async raw(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit; signal?: AbortSignal } = {}): Promise<Response> {
    const target = this.resolve(path);
    try {
      return await fetch(target, { method, headers: this.headers(init.headers), body: init.body, signal: init.signal });
    } catch (e) {
      throw networkError(this.url, e);
    }
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.range !== undefined) headers.Range = opts.range;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await this.raw(method, path, { headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok && !(opts.allow ?? []).includes(res.status)) throw apiError(res, parsed, method, path);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, opts).then((r) => r.body);
  }
  post<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, { ...opts, body }).then((r) => r.body);
  }
  patch<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, { ...opts, body }).then((r) => r.body);
  }
  put<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', path, { ...opts, body }).then((r) => r.body);
  }
  delete<T = any>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, opts).then((r) => r.body);
  }

  /** GETs a whole list, following `206` + `Next-Range` until the server has no more. */
  async list<T = any>(path: string, range?: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = range;
    for (let page = 0; page < 1000; page++) {
      const res = await this.request<T[]>('GET', path, { range: next });
      if (!Array.isArray(res.body)) throw new CliError(`Unexpected answer from ${path}: expected a list.`);
      items.push(...res.body);
      const nextRange = res.headers.get('next-range');
      if (res.status !== 206 || !nextRange || res.body.length === 0) break;
      next = nextRange;
    }
    return items;
  }

  /** One page only (e.g. `version ..; max=1, order=desc`): no pagination. */
  async page<T = any>(path: string, range: string): Promise<T[]> {
    const res = await this.request<T[]>('GET', path, { range });
    if (!Array.isArray(res.body)) throw new CliError(`Unexpected answer from ${path}: expected a list.`);
    return res.body;
  }
}

export const enc = encodeURIComponent;

function apiError(res: Response, body: unknown, method: string, path: string): ApiError {
  const obj = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const id = typeof obj.id === 'string' ? obj.id : statusId(res.status);
  const message =
    typeof obj.message === 'string' && obj.message
      ? obj.message
      : `HTTP ${res.status} ${res.statusText || ''} for ${method} ${path}`.replace(/\s+for/, ' for');
  return new ApiError(res.status, id, message, body);
}

function statusId(status: number): string {
  return ({ 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 422: 'invalid_params' } as Record<number, string>)[status] ?? 'error';
}

export function networkError(url: string, e: unknown): CliError {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
  return new CliError(`Could not reach Slipway at ${url} (${detail}). Is the server running, and is the URL right? Run: slipway login --url URL`);
}
