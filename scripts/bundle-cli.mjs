// Bundles the `slipway` CLI (tsc's output under dist/src) into dist/bundle/cli: one file for
// the entry plus a chunk per lazily loaded command module. Loading a handful of files instead
// of dozens of ES modules is most of what makes a short command like `slipway ci run` start
// fast. The bundle is what `bin.slipway` points at and what the tests run.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle/cli`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: `${root}dist/src/cli/main.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // Less source to scan at every start; identifiers stay, so stack traces keep their names.
  minifyWhitespace: true,
  minifySyntax: true,
  // A CommonJS dependency (ajv) may require node built-ins; give the ESM bundle a require().
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
});
writeFileSync(`${outdir}/package.json`, '{"type": "module"}\n');
