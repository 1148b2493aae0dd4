// origin's URL read from the repository's config file, as `git remote get-url origin` would
// print it, without starting git (`slipway ci` start-up is timed). Only the plain case is
// answered here: when URL rewriting (insteadOf), config includes, environment overrides or
// quoting could change the answer, the caller asks git instead.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The URL; null when there is no origin remote; undefined when only git can tell. */
export function originUrlFromConfig(commonDir: string): string | null | undefined {
  if (Object.keys(process.env).some((k) => k.startsWith('GIT_CONFIG'))) return undefined;
  const home = process.env.HOME ?? homedir();
  const others = [join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'git', 'config'), join(home, '.gitconfig'), '/etc/gitconfig'];
  const [own, ...rest] = [join(commonDir, 'config'), ...others].map(readOrEmpty);
  if (rest.some((text) => /insteadof|\[\s*include/i.test(text))) return undefined;
  return originInConfig(own);
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Exported for tests: the same answer from one config file's text. */
export function originInConfig(text: string): string | null | undefined {
  if (/insteadof|\[\s*include|\[\s*remote\s*\./i.test(text)) return undefined;
  let inOrigin = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      // Section names ignore case; the subsection ("origin") does not.
      const header = /^\[\s*([A-Za-z0-9.-]+)\s+"([^"]*)"\s*\](.*)$/.exec(line);
      inOrigin = header !== null && header[1].toLowerCase() === 'remote' && header[2] === 'origin';
      if (inOrigin && header![3].trim() !== '') return undefined; // a key on the header line
      continue;
    }
    if (!inOrigin) continue;
    const m = /^url\s*=\s*(.*)$/i.exec(line);
    if (!m) continue;
    const value = m[1].replace(/\s+[#;].*$/, '');
    // Quotes, escapes and continued lines: leave those to git.
    if (/["\\]/.test(value) || value === '') return undefined;
    return value;
  }
  return null;
}
