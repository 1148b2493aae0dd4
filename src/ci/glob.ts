// Path globs as GitLab matches them (Ruby File.fnmatch with FNM_PATHNAME | FNM_DOTMATCH |
// FNM_EXTGLOB): `*` and `?` stop at `/`, `**/` spans directories, `{a,b}` alternates,
// `[abc]`/`[!abc]` are classes, and dotfiles match like any other file.

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const cached = cache.get(glob);
  if (cached) return cached;
  const re = new RegExp(`^${translate(glob)}$`);
  if (cache.size > 5000) cache.clear();
  cache.set(glob, re);
  return re;
}

export const hasGlobMagic = (pattern: string): boolean => /[*?[{]/.test(pattern);

export function globMatch(glob: string, path: string): boolean {
  return globToRegExp(glob).test(path);
}

function translate(glob: string): string {
  let out = '';
  let depth = 0; // inside {…}
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) {
      out += escape(glob[++i]);
    } else if (c === '*') {
      if (glob[i + 1] === '*' && glob[i + 2] === '/' && (i === 0 || glob[i - 1] === '/')) {
        out += '(?:[^/]*/)*';
        i += 2;
      } else {
        while (glob[i + 1] === '*') i++;
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      out += `[${negate ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) {
      out += '|';
    } else {
      out += escape(c);
    }
  }
  return out + ')'.repeat(depth);
}

const escape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
