/**
 * A small HTTP/1.1 response parser for the router's own backend client: the response head,
 * then the body's framing (Content-Length, chunked, or until the connection closes).
 * Node's http client does this too, but its per-request machinery (Agent, ClientRequest,
 * IncomingMessage streams) costs more than the proxying itself; see bench/router.
 */
import { eqi } from './headers.js';

export interface ResponseHead {
  status: number;
  message: string;
  /** Raw name/value pairs for the client, hop-by-hop headers already removed. */
  headers: string[];
  /** Body framing: >= 0 a Content-Length, -1 chunked, -2 until the connection closes. */
  length: number;
  /** The connection cannot carry another request afterwards. */
  close: boolean;
}

export const CHUNKED = -1;
export const UNTIL_CLOSE = -2;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(`invalid response from the dyno: ${message}`);
  }
}

/**
 * Parses a response head (status line and header lines, without the blank line). Hop-by-hop
 * headers, headers named in Connection and the dyno's X-Request-Id are dropped.
 */
export function parseHead(text: string): ResponseHead {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  // "HTTP/1.1 200 OK": version, three-digit status, optional reason.
  if (eol < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) throw new ProtocolError('bad status line');
  const http10 = text.charCodeAt(7) === 48; // '0'
  const status = Number(text.slice(9, 12));
  if (!(status >= 100 && status <= 999) || (eol > 12 && text.charCodeAt(12) !== 32)) throw new ProtocolError('bad status code');
  const message = eol > 13 ? text.slice(13, eol) : '';
  const headers: string[] = [];
  let length = UNTIL_CLOSE;
  let chunked = false;
  let connection: string | undefined;
  let pos = eol + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) throw new ProtocolError('folded header line');
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon > end || colon === pos) throw new ProtocolError('header line without a name');
    const name = text.slice(pos, colon);
    const value = text.slice(colon + 1, end).trim();
    pos = end + 2;
    switch (name.length) {
      case 2:
        if (eqi(name, 'te')) continue;
        break;
      case 7:
        if (eqi(name, 'trailer') || eqi(name, 'upgrade')) continue;
        break;
      case 10:
        if (eqi(name, 'connection')) {
          connection = connection === undefined ? value : connection + ',' + value;
          continue;
        }
        if (eqi(name, 'keep-alive')) continue;
        break;
      case 12:
        if (eqi(name, 'x-request-id')) continue;
        break;
      case 14:
        if (eqi(name, 'content-length')) {
          const n = parseLength(value);
          if (length >= 0 && n !== length) throw new ProtocolError('conflicting Content-Length');
          length = n;
        }
        break;
      case 16:
        if (eqi(name, 'proxy-connection')) continue;
        break;
      case 17:
        if (eqi(name, 'transfer-encoding')) {
          chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          continue;
        }
        break;
      case 18:
        if (eqi(name, 'proxy-authenticate')) continue;
        break;
    }
    headers.push(name, value);
  }
  let close = http10;
  if (connection !== undefined) {
    const lc = connection.toLowerCase();
    if (lc.includes('close')) close = true;
    else if (http10 && lc.includes('keep-alive')) close = false;
  }
  if (chunked) {
    length = CHUNKED;
    dropHeader(headers, 'content-length'); // RFC 9112 §6.3: Transfer-Encoding wins
  }
  if (length === UNTIL_CLOSE) close = true;
  return { status, message, headers: connection === undefined ? headers : dropListed(headers, connection), length, close };
}

function parseLength(value: string): number {
  if (value.length === 0 || value.length > 15) throw new ProtocolError('bad Content-Length');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) throw new ProtocolError('bad Content-Length');
  }
  return Number(value);
}

function dropHeader(headers: string[], lower: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (eqi(headers[i], lower)) headers.splice(i, 2);
}

function dropListed(headers: string[], connection: string): string[] {
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'content-length') dropHeader(headers, t);
  }
  return headers;
}

/** Parser states for a chunked body. */
const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILER = 3;
const MAX_LINE = 16 * 1024;

/**
 * Decodes a chunked body incrementally. `feed` hands decoded data to `out` and returns how
 * many input bytes it used once the body is complete, or -1 when it needs more input.
 */
export class ChunkedDecoder {
  private state = SIZE;
  private remaining = 0;
  private line = '';

  reset(): void {
    this.state = SIZE;
    this.remaining = 0;
    this.line = '';
  }

  feed(buf: Buffer, start: number, out: (chunk: Buffer) => void): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      if (this.state === DATA) {
        const take = Math.min(this.remaining, n - i);
        out(buf.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = DATA_END;
        continue;
      }
      // The other states read CRLF-terminated lines.
      const lf = buf.indexOf(10, i);
      const stop = lf < 0 ? n : lf + 1;
      this.line += buf.toString('latin1', i, stop);
      i = stop;
      if (this.line.length > MAX_LINE) throw new ProtocolError('chunk line too long');
      if (lf < 0) break;
      const line = this.line.endsWith('\r\n') ? this.line.slice(0, -2) : this.line.slice(0, -1);
      this.line = '';
      if (this.state === SIZE) {
        const semi = line.indexOf(';');
        const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ProtocolError('bad chunk size');
        this.remaining = parseInt(hex, 16);
        this.state = this.remaining === 0 ? TRAILER : DATA;
      } else if (this.state === DATA_END) {
        if (line !== '') throw new ProtocolError('chunk data overran its size');
        this.state = SIZE;
      } else if (line === '') {
        // End of trailers (dropped: Node would need them declared up front).
        return i - start;
      }
    }
    return -1;
  }
}
