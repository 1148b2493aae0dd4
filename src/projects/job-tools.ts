/**
 * Tools every server-mode CI job finds on its PATH: a `slipway` shim that runs this
 * installation's CLI with this Node. In a job sandbox only the shim's directory, the Node
 * binary and the installation's package.json, dist/ and node_modules/ are visible (read-only),
 * never the data directory.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installRoot } from '../core/install-root.js';

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function prepareJobTools(dataDir: string): { path: string[]; binds: string[] } | undefined {
  const root = installRoot(import.meta.url);
  // The bundled CLI (what `bin.slipway` runs); tsc's output if the bundle was not built.
  const cli = [join(root, 'dist', 'bundle', 'cli', 'main.js'), join(root, 'dist', 'src', 'cli', 'main.js')].find((path) => existsSync(path));
  if (!cli) return undefined;
  const dir = join(dataDir, 'ci', 'tools');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'slipway');
  writeFileSync(shim, `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(cli)} "$@"\n`);
  chmodSync(shim, 0o755);
  const binds = [join(root, 'package.json'), join(root, 'dist'), join(root, 'node_modules')];
  if (!process.execPath.startsWith('/usr/')) binds.unshift(process.execPath);
  return { path: [dir], binds };
}
