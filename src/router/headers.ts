/**
 * Header handling for the proxy hot path. Works on Node's `rawHeaders` arrays (name, value,
 * name, value…) so that the lazily built `req.headers` object is never materialised, and
 * compares names case-insensitively without allocating lower-case copies.
 */

/** Case-insensitive equality of a header name with a lower-case ASCII constant. */
export function eqi(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    // OR-ing 0x20 folds A-Z onto a-z; header names (tokens) contain no byte that folds onto
    // a letter or '-' except the letters themselves.
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** What the router needs to know about an incoming request, gathered in one pass. */
export interface ScannedRequest {
  /** Host header value as sent ('' when absent). */
  host: string;
  /** The client's X-Request-Id when it is acceptable to reuse. */
  requestId: string | undefined;
  forwardedFor: string | undefined;
  via: string | undefined;
  /** Value of the Connection header, to drop the headers it names. */
  connection: string | undefined;
  upgrade: string | undefined;
  hasBody: boolean;
  chunked: boolean;
  /** End-to-end headers to forward unchanged (raw name/value pairs, Host included). */
  headers: string[];
}

/** A request as the exchange forwards it, from either entry point. */
export interface ProxyRequest {
  method: string;
  /** The origin-form request target, as sent. */
  path: string;
  /** The client's X-Request-Id when it is acceptable to reuse. */
  requestId: string | undefined;
  forwardedFor: string | undefined;
  via: string | undefined;
  hasBody: boolean;
  /** The body is chunked on its way to the dyno. */
  chunked: boolean;
  /**
   * The request line and the end-to-end header lines for the dyno, each ending in CRLF; the
   * router adds its own headers and the blank line.
   */
  forward: string;
}

/** The ProxyRequest of a request Node's http.Server parsed. */
export function proxyRequestOf(method: string, path: string, scan: ScannedRequest): ProxyRequest {
  let forward = method + ' ' + path + ' HTTP/1.1\r\n';
  const headers = scan.headers;
  for (let i = 0; i < headers.length; i += 2) forward += headers[i] + ': ' + headers[i + 1] + '\r\n';
  const { requestId, forwardedFor, via, hasBody, chunked } = scan;
  return { method, path, requestId, forwardedFor, via, hasBody, chunked, forward };
}

/**
 * Splits request headers into those forwarded as they are and those the router owns:
 * hop-by-hop headers (RFC 9110 §7.6.1), and the X-Forwarded-*, X-Request-Id and Via
 * headers that the router rewrites.
 */
export function scanRequest(raw: string[]): ScannedRequest {
  const headers: string[] = [];
  const out: ScannedRequest = {
    host: '',
    requestId: undefined,
    forwardedFor: undefined,
    via: undefined,
    connection: undefined,
    upgrade: undefined,
    hasBody: false,
    chunked: false,
    headers,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    // Dispatch on length first: most headers are rejected by one integer comparison.
    switch (name.length) {
      case 2:
        if (eqi(name, 'te')) continue;
        break;
      case 3:
        if (eqi(name, 'via')) {
          out.via = out.via === undefined ? value : out.via + ', ' + value;
          continue;
        }
        break;
      case 4:
        if (eqi(name, 'host')) {
          if (out.host === '') out.host = value;
          else continue; // a second Host header is ambiguous; forward only the one we routed on
        }
        break;
      case 6:
        // Node's server has already answered `Expect: 100-continue` itself.
        if (eqi(name, 'expect')) continue;
        break;
      case 7:
        if (eqi(name, 'upgrade')) {
          out.upgrade = value;
          continue;
        }
        if (eqi(name, 'trailer')) continue;
        break;
      case 10:
        if (eqi(name, 'connection')) {
          out.connection = out.connection === undefined ? value : out.connection + ',' + value;
          continue;
        }
        if (eqi(name, 'keep-alive')) continue;
        break;
      case 12:
        if (eqi(name, 'x-request-id')) {
          if (validRequestId(value)) out.requestId = value;
          continue;
        }
        break;
      case 14:
        if (eqi(name, 'content-length')) out.hasBody = value !== '0';
        break;
      case 15:
        if (eqi(name, 'x-forwarded-for')) {
          out.forwardedFor = out.forwardedFor === undefined ? value : out.forwardedFor + ', ' + value;
          continue;
        }
        break;
      case 16:
        if (eqi(name, 'x-forwarded-port') || eqi(name, 'proxy-connection')) continue;
        break;
      case 17:
        if (eqi(name, 'x-forwarded-proto')) continue;
        if (eqi(name, 'transfer-encoding')) {
          // Node has decoded the body; the outgoing request re-chunks it.
          out.hasBody = true;
          out.chunked = true;
          continue;
        }
        break;
      case 19:
        if (eqi(name, 'proxy-authorization')) continue;
        break;
    }
    headers.push(name, value);
  }
  if (out.connection !== undefined) out.headers = dropConnectionListed(headers, out.connection);
  return out;
}

/** Response headers to pass to the client: everything except hop-by-hop and X-Request-Id. */
export function filterResponseHeaders(raw: string[], requestId: string): string[] {
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    switch (name.length) {
      case 2:
        if (eqi(name, 'te')) continue;
        break;
      case 7:
        if (eqi(name, 'trailer') || eqi(name, 'upgrade')) continue;
        break;
      case 10:
        if (eqi(name, 'connection')) {
          connection = connection === undefined ? raw[i + 1] : connection + ',' + raw[i + 1];
          continue;
        }
        if (eqi(name, 'keep-alive')) continue;
        break;
      case 12:
        if (eqi(name, 'x-request-id')) continue; // the router's id wins, so logs and client agree
        break;
      case 16:
        if (eqi(name, 'proxy-connection')) continue;
        break;
      case 17:
        // Node frames the body again for the client (chunked or close-delimited).
        if (eqi(name, 'transfer-encoding')) continue;
        break;
      case 18:
        if (eqi(name, 'proxy-authenticate')) continue;
        break;
    }
    headers.push(name, raw[i + 1]);
  }
  headers.push('X-Request-Id', requestId, 'Via', '1.1 slipway');
  return connection === undefined ? headers : dropConnectionListed(headers, connection);
}

/** Removes headers named in a Connection header (other than the usual tokens). */
function dropConnectionListed(headers: string[], connection: string): string[] {
  const named: string[] = [];
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') named.push(t);
  }
  if (named.length === 0) return headers;
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i].toLowerCase();
    // Host and Content-Length frame the message and cannot be dropped by a client's whim.
    if (named.includes(name) && name !== 'host' && name !== 'content-length') continue;
    kept.push(headers[i], headers[i + 1]);
  }
  return kept;
}

/** Heroku's rule: 20–200 characters of [A-Za-z0-9+=/-]. */
export function validRequestId(id: string): boolean {
  const n = id.length;
  if (n < 20 || n > 200) return false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || // a-z
      (c >= 65 && c <= 90) || // A-Z
      (c >= 47 && c <= 57) || // / and 0-9
      c === 43 || // +
      c === 45 || // -
      c === 61; // =
    if (!ok) return false;
  }
  return true;
}

/** The hostname of a Host header: lower-case, without port, brackets kept for IPv6. */
export function hostnameOf(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0) end = colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  return (end === host.length ? host : host.slice(0, end)).toLowerCase();
}

/** The client address as Heroku shows it (IPv4-mapped IPv6 addresses unwrapped). */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') && remote.indexOf('.') > 0 ? remote.slice(7) : remote;
}
