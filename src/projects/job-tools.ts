/**
 * Tools every server-mode CI job finds on its PATH: a `slipway` shim that runs this
 * installation's CLI with this Node. In a job sandbox only the shim's directory, the Node
 * binary and the installation's package.json, dist/ and node_modules/ are visible (read-only),
 * never the data directory.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function prepareJobTools(dataDir: string): { path: string[]; binds: string[] } | undefined {
  // This file runs as <root>/dist/src/projects/job-tools.js.
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = join(here, '..', 'cli', 'main.js');
  const root = join(here, '..', '..', '..');
  if (!existsSync(cli)) return undefined;
  const dir = join(dataDir, 'ci', 'tools');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'slipway');
  writeFileSync(shim, `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(cli)} "$@"\n`);
  chmodSync(shim, 0o755);
  const binds = [join(root, 'package.json'), join(root, 'dist'), join(root, 'node_modules')];
  if (!process.execPath.startsWith('/usr/')) binds.unshift(process.execPath);
  return { path: [dir], binds };
}
