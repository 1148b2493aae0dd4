// Bundles the `slipway` CLI (tsc's output under dist/src) into dist/bundle/cli, which is what
// `bin.slipway` points at and what the tests run. Loading a handful of files instead of
// dozens of ES modules is most of what makes a command start fast. Three builds:
//  - main.js, the entry, and program.js with a chunk per lazily loaded command module;
//  - ci-local.js: `ci run|list|lint` in one file (main.js loads it for those commands; every
//    further file the ES module loader has to fetch costs these timed commands a few ms);
//  - vendor-yaml.js and vendor-ajv.js: the two large libraries ci-local.js loads only when a
//    pipeline file has to be parsed or checked against GitLab's schema.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle/cli`;
const common = {
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // Less source to scan at every start; identifiers stay, so stack traces keep their names.
  minifyWhitespace: true,
  minifySyntax: true,
  // A CommonJS dependency (ajv) may require node built-ins; give the ESM bundle a require().
  banner: { js: "import { createRequire as __slipwayRequire } from 'node:module'; const require = __slipwayRequire(import.meta.url);" },
};

/** Leaves an import of `specifier` to load `file` (next to the bundle) at run time. */
const loadAtRunTime = (filter, file) => ({
  name: `run-time ${file}`,
  setup(b) {
    b.onResolve({ filter }, () => ({ path: file, external: true }));
  },
});

rmSync(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { main: `${root}dist/src/cli/main.js` },
  splitting: true,
  plugins: [loadAtRunTime(/^\.\/ci-local\.js$/, './ci-local.js')],
});
await build({
  ...common,
  entryPoints: { 'ci-local': `${root}dist/src/cli/ci-local.js` },
  plugins: [loadAtRunTime(/^yaml$/, './vendor-yaml.js'), loadAtRunTime(/^ajv$/, './vendor-ajv.js')],
});
await build({ ...common, entryPoints: { 'vendor-yaml': 'yaml', 'vendor-ajv': 'ajv' } });
writeFileSync(`${outdir}/package.json`, '{"type": "module"}\n');
