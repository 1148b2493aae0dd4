// Turns a GitLab regular expression (RE2 syntax, written `/pattern/flags` with flags from
// `i m s U`) into a JavaScript RegExp with the same meaning for the patterns people write:
// \A and \z anchors, (?P<name>…) groups, POSIX classes, a leading (?flags) group, literal
// `{`/`}` where RE2 reads them literally, and ungreedy mode (U) by swapping quantifiers.

export class RegexSyntaxError extends Error {}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/** Parses `/…/flags` (with `\/` unescaped); returns undefined for anything else. */
export function parseRegexLiteral(text: string): { source: string; flags: string } | undefined {
  const m = /^\/((?:[^/]|\\\/)+[^\\])\/([ismU]*)$/.exec(text);
  return m ? { source: m[1].replace(/\\\//g, '/'), flags: m[2] } : undefined;
}

export function compileRe2(source: string, flags: string): RegExp {
  let all = flags;
  let body = source;
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    all += leading[1];
    body = body.slice(leading[0].length);
  }
  const ungreedy = all.includes('U');
  const jsFlags = `${all.includes('i') ? 'i' : ''}${all.includes('m') ? 'm' : ''}${all.includes('s') ? 's' : ''}u`;
  try {
    return new RegExp(translate(body, ungreedy), jsFlags);
  } catch (e) {
    throw new RegexSyntaxError(`invalid regular expression /${source}/: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function translate(src: string, ungreedy: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new RegexSyntaxError('trailing backslash');
      i++;
      if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'z') out += '(?![\\s\\S])';
      else if (n === 'p' || n === 'P') {
        const m = /^\{[^}]+\}|^[A-Za-z]/.exec(src.slice(i + 1));
        const name = m ? m[0].replace(/[{}]/g, '') : '';
        out += `\\${n}{${name}}`;
        i += m ? m[0].length : 0;
      } else if (/[A-Za-z0-9]/.test(n)) out += `\\${n}`;
      else if (SYNTAX.has(n) || (inClass && n === '-')) out += `\\${n}`;
      else out += n === '-' ? '-' : escapeLiteral(n);
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        const name = end > 0 ? src.slice(i + 2, end) : '';
        const negated = name.startsWith('^');
        const range = POSIX[negated ? name.slice(1) : name];
        if (range && !negated) {
          out += range;
          i = end + 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const group = /^\(\?(?:[:=!]|<[=!]|P?<[A-Za-z_]\w*>)/.exec(src.slice(i));
      if (!group) throw new RegexSyntaxError('inline flags are only supported at the start of the pattern');
      out += group[0].replace('(?P<', '(?<');
      i += group[0].length - 1;
      continue;
    }
    if (c === '{') {
      const m = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
      if (m && out.length > 0) {
        out += m[0];
        i += m[0].length - 1;
        out += quantifierSuffix(src, i, ungreedy);
        i += src[i + 1] === '?' ? 1 : 0;
      } else out += '\\{';
      continue;
    }
    if (c === '}' || c === ']') {
      out += `\\${c}`;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      out += c + quantifierSuffix(src, i, ungreedy);
      i += src[i + 1] === '?' ? 1 : 0;
      continue;
    }
    out += c;
  }
  if (inClass) throw new RegexSyntaxError('missing closing ]');
  return out;
}

/** What follows a quantifier in JS: `?` makes it lazy. Under U the meaning is swapped. */
function quantifierSuffix(src: string, at: number, ungreedy: boolean): string {
  const lazy = src[at + 1] === '?';
  return lazy !== ungreedy ? '?' : '';
}

const escapeLiteral = (c: string): string => (/[\w\s]/.test(c) ? c : SYNTAX.has(c) ? `\\${c}` : c);
