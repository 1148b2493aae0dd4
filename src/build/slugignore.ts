/**
 * `.slugignore`: files to delete from the source before buildpacks compile it, written like
 * a .gitignore (one pattern per line, `#` comments, `*`, `?`, `**`, `/` anchors, trailing `/`
 * for directories only, `!` to keep something an earlier pattern removed).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface SlugignoreRule {
  regex: RegExp;
  negate: boolean;
  directoryOnly: boolean;
}

export function parseSlugignore(text: string): SlugignoreRule[] {
  const rules: SlugignoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const directoryOnly = line.endsWith('/');
    line = line.replace(/\/+$/, '');
    // A pattern with a slash before its end is anchored at the app root; otherwise it matches at any depth.
    const anchored = line.includes('/');
    line = line.replace(/^\//, '');
    if (line === '') continue;
    const body = globToRegex(line);
    rules.push({ regex: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`), negate, directoryOnly });
  }
  return rules;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // "**/" matches any number of directories, a trailing "**" everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) out += escape(glob[++i]);
    else out += escape(c);
  }
  return out;
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function ignored(rules: SlugignoreRule[], path: string, isDirectory: boolean): boolean {
  let result = false;
  for (const rule of rules) {
    if (rule.directoryOnly && !isDirectory) continue;
    if (rule.regex.test(path)) result = !rule.negate;
  }
  return result;
}

/**
 * Deletes the files matched by `<dir>/.slugignore`; returns how many entries were removed
 * (a removed directory counts once).
 */
export async function applySlugignore(dir: string): Promise<number> {
  const text = await readFile(join(dir, '.slugignore'), 'utf8').catch(() => null);
  if (text === null) return 0;
  const rules = parseSlugignore(text);
  if (rules.length === 0) return 0;
  let removed = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (path === '.git') continue;
      const isDirectory = entry.isDirectory();
      if (ignored(rules, path, isDirectory)) {
        await rm(join(dir, path), { recursive: true, force: true });
        removed++;
      } else if (isDirectory) {
        await walk(path);
      }
    }
  };
  await walk('');
  return removed;
}
