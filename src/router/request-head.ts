/**
 * Request heads for the router's own connection handling (client-connection.ts). It accepts
 * only the plain, unambiguous HTTP/1.1 requests that make up nearly all app traffic, and
 * answers `undefined` for anything else: the connection then goes to Node's http.Server,
 * whose parser is the reference for the odd cases (HTTP/1.0, Expect, Upgrade, absolute-form
 * targets, obsolete line folding, conflicting framing) and answers errors such as 400 and 431
 * itself. So a request this parser misreads can only be one it declines, never one it
 * frames differently from a strict parser (no request smuggling through the pool).
 */
import { type ProxyRequest, validRequestId } from './headers.js';
import { eqiAt, isTokenAt, trimOws, connectionListed, dropLines, hasBadHeadChar, plainConnection } from './head-text.js';
import { CHUNKED } from './response-parser.js';

/** Node's default --max-http-header-size: larger heads go to Node, which answers 431. */
export const MAX_REQUEST_HEAD = 16 * 1024;

export interface RequestHead extends ProxyRequest {
  /** The Host header's value as sent. */
  host: string;
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
/** Connection tokens that name no header to drop. */
const PLAIN_CONNECTION = ['close', 'keep-alive', 'upgrade'];

/**
 * `text` is the head up to (not including) the blank line, decoded as latin1. The lines the
 * dyno gets as sent (`forward`) are runs sliced out of `text`; the router's own and the
 * hop-by-hop lines break the runs.
 */
export function parseRequestHead(text: string): RequestHead | undefined {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  // "<method> <target> HTTP/1.1": the version is exactly the last 8 characters of the line.
  if (sp1 <= 0 || sp2 < 0 || eol - sp2 !== 9 || !text.startsWith('HTTP/1.1', sp2 + 1)) return undefined;
  const method = text.slice(0, sp1);
  const path = text.slice(sp1 + 1, sp2);
  if (!METHOD.test(method) || !TARGET.test(path) || hasBadHeadChar(text)) return undefined;

  let forward = '';
  let run = 0; // start of the current run of forwarded lines (the request line is one)
  let host: string | undefined;
  let requestId: string | undefined;
  let forwardedFor: string | undefined;
  let via: string | undefined;
  let connection: string | undefined;
  let length = -1;
  let chunked = false;
  let pos = eol + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > end || !isTokenAt(text, pos, colon)) return undefined;
    let drop = false;
    // Dispatch on the name's length first: most names are ruled out by one comparison.
    switch (colon - pos) {
      case 2:
        drop = eqiAt(text, pos, 'te');
        break;
      case 3:
        if (eqiAt(text, pos, 'via')) {
          const value = trimOws(text, colon + 1, end);
          via = via === undefined ? value : via + ', ' + value;
          drop = true;
        }
        break;
      case 4:
        if (eqiAt(text, pos, 'host')) {
          if (host !== undefined) return undefined;
          host = trimOws(text, colon + 1, end);
        }
        break;
      case 6:
        if (eqiAt(text, pos, 'expect')) return undefined; // 100-continue is Node's to answer
        break;
      case 7:
        if (eqiAt(text, pos, 'upgrade')) return undefined; // handled by the router's 'upgrade' path
        drop = eqiAt(text, pos, 'trailer');
        break;
      case 10:
        if (eqiAt(text, pos, 'connection')) {
          const value = trimOws(text, colon + 1, end);
          connection = connection === undefined ? value : connection + ',' + value;
          drop = true;
        } else drop = eqiAt(text, pos, 'keep-alive');
        break;
      case 12:
        if (eqiAt(text, pos, 'x-request-id')) {
          const value = trimOws(text, colon + 1, end);
          if (validRequestId(value)) requestId = value;
          drop = true;
        }
        break;
      case 14:
        if (eqiAt(text, pos, 'content-length')) {
          const value = trimOws(text, colon + 1, end);
          if (length >= 0 || !/^\d{1,15}$/.test(value)) return undefined;
          length = Number(value);
        }
        break;
      case 15:
        if (eqiAt(text, pos, 'x-forwarded-for')) {
          const value = trimOws(text, colon + 1, end);
          forwardedFor = forwardedFor === undefined ? value : forwardedFor + ', ' + value;
          drop = true;
        }
        break;
      case 16:
        drop = eqiAt(text, pos, 'x-forwarded-port') || eqiAt(text, pos, 'proxy-connection');
        break;
      case 17:
        if (eqiAt(text, pos, 'transfer-encoding')) {
          // The router decodes the body and chunks it again for the dyno.
          if (chunked || trimOws(text, colon + 1, end).toLowerCase() !== 'chunked') return undefined;
          chunked = true;
          drop = true;
        } else drop = eqiAt(text, pos, 'x-forwarded-proto');
        break;
      case 19:
        drop = eqiAt(text, pos, 'proxy-authorization');
        break;
    }
    if (drop) {
      if (pos > run) forward += text.slice(run, pos);
      run = end + 2;
    }
    pos = end + 2;
  }
  // HTTP/1.1 requires Host; both framings at once is a smuggling attempt (RFC 9112 §6.1).
  if (host === undefined || (chunked && length >= 0)) return undefined;
  if (run < text.length) forward += text.slice(run) + '\r\n';
  let close = false;
  if (connection !== undefined && plainConnection(connection)) {
    close = connection.length === 5;
  } else if (connection !== undefined) {
    const lc = connection.toLowerCase();
    close = lc.split(',').some((token) => token.trim() === 'close');
    // Host and Content-Length frame the message and cannot be dropped by a client's whim.
    const named = connectionListed(lc, PLAIN_CONNECTION).filter((n) => n !== 'host' && n !== 'content-length');
    // The request line stays out of dropLines: its target may hold a colon.
    if (named.length > 0) forward = forward.slice(0, eol + 2) + dropLines(forward.slice(eol + 2), named);
  }
  const bodyLength = chunked ? CHUNKED : length < 0 ? 0 : length;
  return { method, path, host, requestId, forwardedFor, via, hasBody: bodyLength !== 0, chunked, forward, length: bodyLength, close };
}
