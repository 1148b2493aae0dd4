// The git commands `slipway ci` needs first — `git ls-files` and `git log -1` — run from one
// shell (one process spawn from node instead of two). The CLI's entry starts
// them before it loads the CI code, so git works while node compiles (main.ts); ci-git.ts
// takes the answer over. The two are in different bundles, hence the hand-over through a
// global registered symbol rather than a module variable.
import { execFile } from 'node:child_process';

/** ls-files output (undefined outside a work tree) and `git log -1` output. */
export type GitFacts = [list: string | undefined, log: string | undefined];

interface Started {
  cwd: string;
  facts: Promise<GitFacts>;
}

const HANDOVER = Symbol.for('slipway.cli.git-facts');
const slot = globalThis as { [HANDOVER]?: Started };

function runGitFacts(cwd: string): Promise<GitFacts> {
  // Unguessable enough to never occur in a file name or commit message by accident.
  const separator = `\n--slipway-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}--\n`;
  const script = [
    'git ls-files -z -co --exclude-standard || exit 3',
    'printf %s "$1"',
    "git log -1 --format='%H%x00%aI%x00%an <%ae>%x00%B' 2>/dev/null",
    'exit 0',
  ].join('\n');
  return new Promise((done) => {
    execFile('/bin/sh', ['-c', script, 'sh', separator], { cwd, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }, (error, stdout) => {
      if (error) return done([undefined, undefined]);
      const [list, log] = stdout.split(separator);
      done([list, log || undefined]);
    });
  });
}

/** Starts gathering the facts of `cwd` now, for a later `gitFacts(cwd)` in this process. */
export function prefetchGitFacts(cwd: string): void {
  slot[HANDOVER] = { cwd, facts: runGitFacts(cwd) };
}

/** The facts of `cwd`: the prefetched answer when there is one for it, else a fresh run. */
export function gitFacts(cwd: string): Promise<GitFacts> {
  const started = slot[HANDOVER];
  slot[HANDOVER] = undefined;
  return started !== undefined && started.cwd === cwd ? started.facts : runGitFacts(cwd);
}
