/**
 * A small HTTP/1.1 response parser for the router's own backend client: the response head,
 * then the body's framing (Content-Length, chunked, or until the connection closes).
 * Node's http client does this too, but its per-request machinery (Agent, ClientRequest,
 * IncomingMessage streams) costs more than the proxying itself; see bench/router.
 */
import { eqiAt, isTokenAt, trimOws, hasBadHeadChar, plainConnection, connectionListed, dropLines } from './head-text.js';

export interface ResponseHead {
  status: number;
  message: string;
  /**
   * The header lines to relay, as the dyno sent them, each ending in CRLF: hop-by-hop
   * headers, headers named in Connection and the dyno's X-Request-Id taken out.
   */
  lines: string;
  /** Body framing: >= 0 a Content-Length, -1 chunked, -2 until the connection closes. */
  length: number;
  /** The connection cannot carry another request afterwards. */
  close: boolean;
  /** The head holds a character a header may not carry: it cannot be sent on. */
  invalid: boolean;
}

export const CHUNKED = -1;
export const UNTIL_CLOSE = -2;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(`invalid response from the dyno: ${message}`);
  }
}

/** Connection tokens that name no header to drop. */
const PLAIN_CONNECTION = ['close', 'keep-alive', 'content-length'];

/**
 * Parses a response head (status line and header lines, without the blank line). Lines are
 * relayed as runs sliced from `text`; only the dropped ones break a run.
 */
export function parseHead(text: string): ResponseHead {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  // "HTTP/1.1 200 OK": version, three-digit status, optional reason.
  if (eol < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) throw new ProtocolError('bad status line');
  const http10 = text.charCodeAt(7) === 48; // '0'
  const status = digit(text, 9) * 100 + digit(text, 10) * 10 + digit(text, 11);
  if (!(status >= 100 && status <= 999) || (eol > 12 && text.charCodeAt(12) !== 32)) throw new ProtocolError('bad status code');
  const message = eol > 13 ? text.slice(13, eol) : '';
  let invalid = hasBadHeadChar(text);
  let lines = '';
  let run = eol + 2; // start of the current run of kept lines
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
    if (!invalid && !isTokenAt(text, pos, colon)) invalid = true;
    let drop = false;
    // Dispatch on the name's length first: most names are ruled out by one comparison.
    switch (colon - pos) {
      case 2:
        drop = eqiAt(text, pos, 'te');
        break;
      case 7:
        drop = eqiAt(text, pos, 'trailer') || eqiAt(text, pos, 'upgrade');
        break;
      case 10:
        if (eqiAt(text, pos, 'connection')) {
          const value = trimOws(text, colon + 1, end);
          connection = connection === undefined ? value : connection + ',' + value;
          drop = true;
        } else drop = eqiAt(text, pos, 'keep-alive');
        break;
      case 12:
        drop = eqiAt(text, pos, 'x-request-id');
        break;
      case 14:
        if (eqiAt(text, pos, 'content-length')) {
          const n = parseLength(trimOws(text, colon + 1, end));
          if (length >= 0 && n !== length) throw new ProtocolError('conflicting Content-Length');
          length = n;
        }
        break;
      case 16:
        drop = eqiAt(text, pos, 'proxy-connection');
        break;
      case 17:
        if (eqiAt(text, pos, 'transfer-encoding')) {
          chunked = /(?:^|,)\s*chunked\s*$/i.test(trimOws(text, colon + 1, end));
          drop = true;
        }
        break;
      case 18:
        drop = eqiAt(text, pos, 'proxy-authenticate');
        break;
    }
    if (drop) {
      if (pos > run) lines += text.slice(run, pos);
      run = end + 2;
    }
    pos = end + 2;
  }
  if (run < text.length) lines += text.slice(run) + '\r\n';
  let close = http10;
  if (connection !== undefined) {
    if (plainConnection(connection)) {
      close = connection.length === 5;
    } else {
      const lc = connection.toLowerCase();
      if (lc.includes('close')) close = true;
      else if (http10 && lc.includes('keep-alive')) close = false;
      const named = connectionListed(connection, PLAIN_CONNECTION);
      if (named.length > 0) lines = dropLines(lines, named);
    }
  }
  if (chunked) {
    if (length >= 0) lines = dropLines(lines, ['content-length']); // RFC 9112 §6.3: Transfer-Encoding wins
    length = CHUNKED;
  }
  if (length === UNTIL_CLOSE) close = true;
  return { status, message, lines, length, close, invalid };
}

/** The decimal digit at `i`, or NaN. */
function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
}

function parseLength(value: string): number {
  if (value.length === 0 || value.length > 15) throw new ProtocolError('bad Content-Length');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) throw new ProtocolError('bad Content-Length');
  }
  return Number(value);
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
