// ProjectFiles over a directory on disk: the default for local runs. Listing skips .git; the
// CLI prefers git's own file list when the directory is a work tree.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { ProjectFiles } from '../types.js';

export function directoryFiles(root: string, list?: () => Promise<string[]>): ProjectFiles {
  const base = resolve(root);
  return {
    async read(path) {
      const full = resolve(base, path);
      if (full !== base && !full.startsWith(base + sep)) return undefined; // stay inside the project
      try {
        return await readFile(full, 'utf8');
      } catch {
        return undefined;
      }
    },
    list: list ?? (() => walk(base, base)),
  };
}

async function walk(dir: string, base: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name === '.git') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full, base)));
    else files.push(relative(base, full).split(sep).join('/'));
  }
  return files;
}
