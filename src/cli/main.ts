#!/usr/bin/env node
// The `slipway` command's entry: decides what to load. `ci run`, `ci list` and `ci lint` need
// no server and their start-up is a target (docs/benchmarks.md): they load one self-contained
// file (ci-local.js, bundled on its own) and start git before loading it, so git works while
// node compiles. Every other command loads the whole client (program.js).
import { resolve } from 'node:path';
import { prefetchGitFacts } from './git-facts.js';

const LOCAL_CI = new Set(['run', 'list', 'lint']);

/** The value of --cwd in `argv`, if given plainly (anything odd is left to the real parser). */
function cwdFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return undefined;
    if (argv[i] === '--cwd') return argv[i + 1];
    if (argv[i].startsWith('--cwd=')) return argv[i].slice('--cwd='.length);
  }
  return undefined;
}

const argv = process.argv.slice(2);
if (argv[0] === 'ci' && LOCAL_CI.has(argv[1]) && !argv.includes('--help') && !argv.includes('-h')) {
  prefetchGitFacts(resolve(cwdFlag(argv) ?? process.cwd()));
  (await import('./ci-local.js')).runLocalCi(argv.slice(1));
} else {
  (await import('./program.js')).runCli(argv);
}
