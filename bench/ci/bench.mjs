#!/usr/bin/env node
// Measures `slipway ci run`: start-up (a 1-job pipeline) and per-job overhead for trivial
// `true` jobs as a stage chain (one job per stage) and as a needs chain (one stage), for 1, 10
// and 50 jobs, plus 20 stages. Wall time of the whole CLI invocation, with hyperfine.
//
//   npx tsc -p . && node bench/ci/bench.mjs [--runs N] [--no-sandbox]
//
// Per-job overhead = (mean(N jobs) - mean(1 job)) / (N - 1).
// Comparing with gitlab-ci-local: the same generated repositories are runnable by it as they
// are (`gitlab-ci-local --cwd DIR --shell-isolation`, shell executor, see
// /work/shared/spec/gitlab-ci.md §5.2); adding it means one more hyperfine command per case
// in `measure()` below and one more column in the table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'dist/src/cli/main.js');
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 10;
const extra = argv.includes('--no-sandbox') ? ' --no-sandbox' : '';
const work = mkdtempSync(join(tmpdir(), 'slipway-ci-bench-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com', XDG_CACHE_HOME: join(work, 'cache') };

function project(name, yaml) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, '.gitlab-ci.yml'), yaml);
  for (let i = 0; i < 10; i++) writeFileSync(join(dir, `file${i}.txt`), `file ${i}\n`);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', 'bench'], { cwd: dir, env });
  return dir;
}

const stageChain = (n) => `stages: [${Array.from({ length: n }, (_, i) => `s${i}`).join(', ')}]\n` + Array.from({ length: n }, (_, i) => `j${i}:\n  stage: s${i}\n  script: 'true'\n`).join('');
const needsChain = (n) => Array.from({ length: n }, (_, i) => `j${i}:\n  stage: test\n  script: 'true'\n${i ? `  needs: [j${i - 1}]\n` : '  needs: []\n'}`).join('');

const cases = [
  ['1 job (start-up)', stageChain(1), 1],
  ['10 jobs, stage chain', stageChain(10), 10],
  ['50 jobs, stage chain', stageChain(50), 50],
  ['10 jobs, needs chain', needsChain(10), 10],
  ['50 jobs, needs chain', needsChain(50), 50],
  ['20 stages', stageChain(20), 20],
];

function measure(dir) {
  const out = join(work, 'result.json');
  const cmd = `node ${cli} ci run --cwd ${dir}${extra}`;
  execFileSync('hyperfine', ['-N', '-w', '2', '-r', String(runs), '--export-json', out, cmd], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(readFileSync(out, 'utf8')).results[0];
  return { mean: r.mean, stddev: r.stddev };
}

try {
  const nodeOnly = (() => {
    const out = join(work, 'node.json');
    execFileSync('hyperfine', ['-N', '-w', '2', '-r', String(runs), '--export-json', out, 'node -e 0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    return JSON.parse(readFileSync(out, 'utf8')).results[0].mean;
  })();
  const rows = [];
  let base;
  for (const [label, yaml, jobs] of cases) {
    const dir = project(label.replace(/\W+/g, '-'), yaml);
    execFileSync('node', [cli, 'ci', 'run', '--cwd', dir, ...(extra ? ['--no-sandbox'] : [])], { env, stdio: 'ignore' }); // validates once
    const m = measure(dir);
    if (jobs === 1) base = m.mean;
    rows.push([label, `${(m.mean * 1000).toFixed(0)} ± ${(m.stddev * 1000).toFixed(0)} ms`, jobs > 1 ? `${(((m.mean - base) / (jobs - 1)) * 1000).toFixed(1)} ms` : '—']);
  }
  const header = ['pipeline', `slipway ci run${extra}`, 'per extra job'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\n(node -e 0 alone: ${(nodeOnly * 1000).toFixed(0)} ms; ${runs} runs each; ${process.version})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
