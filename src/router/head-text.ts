/**
 * Helpers for HTTP heads kept as latin1 text. The router relays header lines as they came
 * (sliced out of the head it read) instead of splitting them into name/value pairs and
 * joining them again: most lines pass untouched, so splicing is cheaper than rebuilding.
 */

/** Whether `text` at `pos` holds `lower` (a lower-case ASCII header name), ignoring case. */
export function eqiAt(text: string, pos: number, lower: string): boolean {
  const n = lower.length;
  for (let i = 0; i < n; i++) {
    // OR-ing 0x20 folds A-Z onto a-z; token characters fold onto no other letter or '-'.
    if ((text.charCodeAt(pos + i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** RFC 9110 token characters (header names), by character code. */
const TOKEN_CHARS = (() => {
  const table = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") table[c.charCodeAt(0)] = 1;
  return table;
})();

/** Whether `text.slice(from, to)` is a non-empty token. */
export function isTokenAt(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

/**
 * Whether `text` holds a character no header line may carry (Node's rule for values,
 * checkInvalidHeaderChar), or a CR or LF that is not part of a CRLF line end. A loop: about
 * twice as fast as the equivalent regular expression on a typical head.
 */
export function hasBadHeadChar(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 32) {
      if (c === 127 || c > 255) return true;
    } else if (c === 13) {
      if (text.charCodeAt(i + 1) !== 10) return true;
      i++;
    } else if (c !== 9) {
      return true; // a control character, or a bare LF
    }
  }
  return false;
}

/** Whether a Connection value is one of the usual single tokens, which name no header. */
export function plainConnection(value: string): boolean {
  if (value.length === 5) return eqiAt(value, 0, 'close');
  if (value.length === 10) return eqiAt(value, 0, 'keep-alive');
  return false;
}

/** `text.slice(from, to)` without leading and trailing spaces and tabs (RFC 9110 OWS). */
export function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

/** Header lines ("Name: value\r\n"…) as raw [name, value, …] pairs, values trimmed. */
export function headerPairs(lines: string): string[] {
  const pairs: string[] = [];
  let pos = 0;
  while (pos < lines.length) {
    const end = lines.indexOf('\r\n', pos);
    const colon = lines.indexOf(':', pos);
    pairs.push(lines.slice(pos, colon), trimOws(lines, colon + 1, end));
    pos = end + 2;
  }
  return pairs;
}

/**
 * The names a Connection header value lists, lower-case, other than `keep`'s (those every
 * HTTP/1.1 party understands and that name no header to drop).
 */
export function connectionListed(value: string, keep: readonly string[]): string[] {
  const named: string[] = [];
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && !keep.includes(t)) named.push(t);
  }
  return named;
}

/** Header lines without those whose (lower-case) name is in `names`. Rare path: it splits. */
export function dropLines(lines: string, names: readonly string[]): string {
  let out = '';
  let pos = 0;
  while (pos < lines.length) {
    const end = lines.indexOf('\r\n', pos) + 2;
    const colon = lines.indexOf(':', pos);
    if (!names.includes(lines.slice(pos, colon).toLowerCase())) out += lines.slice(pos, end);
    pos = end;
  }
  return out;
}
