/**
 * Request heads for the router's own connection handling (client-connection.ts). It accepts
 * only the plain, unambiguous HTTP/1.1 requests that make up nearly all app traffic, and
 * answers `undefined` for anything else: the connection then goes to Node's http.Server,
 * whose parser is the reference for the odd cases (HTTP/1.0, Expect, Upgrade, absolute-form
 * targets, obsolete line folding, conflicting framing) and answers errors such as 400 and 431
 * itself. So a request this parser misreads can only be one it declines, never one it
 * frames differently from a strict parser (no request smuggling through the pool).
 */
import { eqi, scanRequest, type ScannedRequest } from './headers.js';
import { CHUNKED } from './response-parser.js';

/** Node's default --max-http-header-size: larger heads go to Node, which answers 431. */
export const MAX_REQUEST_HEAD = 16 * 1024;

export interface RequestHead {
  method: string;
  /** The origin-form request target, as sent. */
  path: string;
  scan: ScannedRequest;
  /** Body framing: >= 0 a Content-Length (0 when absent), CHUNKED. */
  length: number;
  /** The client asked for the connection to close after this exchange. */
  close: boolean;
}

const METHOD = /^[A-Z]{1,20}$/;
/** Origin-form only, visible ASCII: what Node's strict parser and the log line both accept. */
const TARGET = /^\/[\x21-\x7e]*$/;
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Node's rule for header values (checkInvalidHeaderChar). */
export const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** `text` is the head up to (not including) the blank line, decoded as latin1. */
export function parseRequestHead(text: string): RequestHead | undefined {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  // "<method> <target> HTTP/1.1": the version is exactly the last 8 characters of the line.
  if (sp1 <= 0 || sp2 < 0 || eol - sp2 !== 9 || !text.startsWith('HTTP/1.1', sp2 + 1)) return undefined;
  const method = text.slice(0, sp1);
  const path = text.slice(sp1 + 1, sp2);
  if (!METHOD.test(method) || !TARGET.test(path)) return undefined;

  const raw: string[] = [];
  let length = -1;
  let chunked = false;
  let close = false;
  let host = false;
  let pos = eol + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > end) return undefined;
    const name = text.slice(pos, colon);
    const value = trimOws(text, colon + 1, end);
    pos = end + 2;
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) return undefined;
    switch (name.length) {
      case 4:
        if (eqi(name, 'host')) {
          if (host) return undefined;
          host = true;
        }
        break;
      case 6:
        if (eqi(name, 'expect')) return undefined; // 100-continue is Node's to answer
        break;
      case 7:
        if (eqi(name, 'upgrade')) return undefined; // handled by the router's 'upgrade' path
        break;
      case 10:
        if (eqi(name, 'connection') && hasToken(value, 'close')) close = true;
        break;
      case 14:
        if (eqi(name, 'content-length')) {
          if (length >= 0 || !/^\d{1,15}$/.test(value)) return undefined;
          length = Number(value);
        }
        break;
      case 17:
        if (eqi(name, 'transfer-encoding')) {
          if (chunked || value.toLowerCase() !== 'chunked') return undefined;
          chunked = true;
        }
        break;
    }
    raw.push(name, value);
  }
  // HTTP/1.1 requires Host; both framings at once is a smuggling attempt (RFC 9112 §6.1).
  if (!host || (chunked && length >= 0)) return undefined;
  return { method, path, scan: scanRequest(raw), length: chunked ? CHUNKED : length < 0 ? 0 : length, close };
}

/** `text.slice(from, to)` without leading and trailing spaces and tabs (RFC 9110 OWS). */
function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

/** Whether a comma-separated header value lists `lower` (case-insensitive). */
function hasToken(value: string, lower: string): boolean {
  for (const token of value.split(',')) if (eqi(token.trim(), lower)) return true;
  return false;
}
