// Files that ship with Slipway (package.json, the CI JSON schema) are found from the running
// module by walking up to Slipway's own package.json, so the same code works from dist/src
// (tsc output) and from the bundled CLI in dist/bundle, whatever their depth.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory of Slipway's package.json, found upwards from `moduleUrl`. */
export function installRoot(moduleUrl: string): string {
  if (root) return root;
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'slipway') return (root = dir);
      } catch {
        // not a readable package.json: keep looking
      }
    }
    if (dirname(dir) === dir) throw new Error(`Slipway's package.json was not found above ${fileURLToPath(moduleUrl)}`);
  }
}

/** A file of the installation, e.g. `installFile(import.meta.url, 'schemas', 'gitlab-ci.schema.json')`. */
export const installFile = (moduleUrl: string, ...parts: string[]): string => join(installRoot(moduleUrl), ...parts);
