#!/usr/bin/env node
// Measures `slipway ci run`: start-up (a 1-job pipeline) and per-job overhead for trivial
// `true` jobs as a stage chain (one job per stage) and as a needs chain (one stage), for 1, 10
// and 50 jobs, plus 20 stages. Wall time of the whole CLI invocation, with hyperfine.
//
//   npm run build && node bench/ci/bench.mjs [--runs N] [--no-sandbox] [--both] [--keep-ca-env] [--gcl [--gcl-dir DIR]]
//
//   --no-sandbox  measure `slipway ci run --no-sandbox` instead of the bubblewrap default
//   --both        measure both (two slipway columns)
//   --keep-ca-env keep NODE_EXTRA_CA_CERTS from the environment (it is dropped by default)
//   --gcl         add gitlab-ci-local side by side, as /work/shared/spec/gitlab-ci.md §5.2 runs
//                 it: `npm install gitlab-ci-local@4.75.1` into a temporary directory (or use
//                 the install in --gcl-dir), the Node 20 polyfill for the ES2025 Set methods
//                 preloaded with `node --import`, shell executor, `--shell-isolation` (a fresh
//                 rsync copy of the tracked files per job, like slipway's per-job checkout).
//                 Needs rsync. gitlab-ci-local runs on its own copy of each project (its state
//                 directory would otherwise show up as untracked files in slipway's checkouts).
//                 Stage chains longer than 12 stages are left out for it: its scheduler is
//                 exponential in the number of stages (§5.3: 18 stages take 8.5 s, 50 never end).
//
// Per-job overhead = (mean(N jobs) - mean(1 job)) / (N - 1).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'dist/bundle/cli/main.js');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const runs = Number(option('--runs')) || 10;
const GCL_VERSION = '4.75.1';
const GCL_MAX_STAGES = 12;
const work = mkdtempSync(join(tmpdir(), 'slipway-ci-bench-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com', XDG_CACHE_HOME: join(work, 'cache') };
// NODE_EXTRA_CA_CERTS makes every node process parse a CA bundle before running anything
// (about 45 ms on the benchmark machine, where the environment sets it). It has nothing to do
// with either tool, so both are measured without it; --keep-ca-env measures with it.
if (!flag('--keep-ca-env')) delete env.NODE_EXTRA_CA_CERTS;

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

// [label, yaml, jobs, stages]
const cases = [
  ['1 job (start-up)', stageChain(1), 1, 1],
  ['10 jobs, stage chain', stageChain(10), 10, 10],
  ['50 jobs, stage chain', stageChain(50), 50, 50],
  ['10 jobs, needs chain', needsChain(10), 10, 1],
  ['50 jobs, needs chain', needsChain(50), 50, 1],
  ['20 stages', stageChain(20), 20, 20],
];

/** gitlab-ci-local, installed as §5.2 says; returns the argv prefix that runs it. */
function installGcl() {
  const dir = option('--gcl-dir') ?? join(work, 'gcl');
  const entry = join(dir, 'node_modules/gitlab-ci-local/dist/index.js');
  if (!existsSync(entry)) {
    mkdirSync(dir, { recursive: true });
    // Without its own package.json npm would install into the nearest parent project.
    writeFileSync(join(dir, 'package.json'), '{"name": "gcl-under-bench", "private": true}\n');
    process.stderr.write(`installing gitlab-ci-local@${GCL_VERSION} into ${dir}…\n`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', `gitlab-ci-local@${GCL_VERSION}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const polyfill = join(dir, 'set-polyfill.mjs');
  writeFileSync(
    polyfill,
    `const P = Set.prototype, def = (n, f) => { if (!P[n]) Object.defineProperty(P, n, {value: f, writable: true, configurable: true}); };
def("union", function (o) { const r = new Set(this); for (const v of o.keys()) r.add(v); return r; });
def("intersection", function (o) { const r = new Set(); for (const v of this) if (o.has(v)) r.add(v); return r; });
def("difference", function (o) { const r = new Set(); for (const v of this) if (!o.has(v)) r.add(v); return r; });
def("symmetricDifference", function (o) { const r = new Set(this); for (const v of o.keys()) { if (this.has(v)) r.delete(v); else r.add(v); } return r; });
def("isSubsetOf", function (o) { for (const v of this) if (!o.has(v)) return false; return true; });
def("isSupersetOf", function (o) { for (const v of o.keys()) if (!this.has(v)) return false; return true; });
def("isDisjointFrom", function (o) { for (const v of this) if (o.has(v)) return false; return true; });
`,
  );
  execFileSync('rsync', ['--version'], { stdio: 'ignore' }); // --shell-isolation copies with rsync
  return `node --import ${polyfill} ${entry}`;
}

function measure(cmd, cwd) {
  const out = join(work, 'result.json');
  execFileSync('hyperfine', ['-N', '-w', '2', '-r', String(runs), '--export-json', out, cmd], { cwd, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(readFileSync(out, 'utf8')).results[0];
  return { mean: r.mean, stddev: r.stddev };
}

try {
  const variants = [];
  if (!flag('--no-sandbox') || flag('--both')) variants.push({ label: 'slipway ci run', cmd: (dir) => `node ${cli} ci run --cwd ${dir}` });
  if (flag('--no-sandbox') || flag('--both')) variants.push({ label: 'slipway ci run --no-sandbox', cmd: (dir) => `node ${cli} ci run --cwd ${dir} --no-sandbox` });
  if (flag('--gcl')) {
    const gcl = installGcl();
    variants.push({ label: `gitlab-ci-local ${GCL_VERSION} --shell-isolation`, cmd: () => `${gcl} --cwd . --shell-isolation --no-color`, inDir: true, maxStages: GCL_MAX_STAGES });
  }
  const nodeOnly = measure('node -e 0').mean;
  const rows = cases.map(([label]) => [label]);
  for (const variant of variants) {
    let base;
    cases.forEach(([label, yaml, jobs, stages], i) => {
      if (variant.maxStages && stages > variant.maxStages) {
        rows[i].push('n/a (exponential in stages)', '—');
        return;
      }
      const dir = project(`${label.replace(/\W+/g, '-')}-${variants.indexOf(variant)}`, yaml);
      // gitlab-ci-local insists on a relative --cwd: it runs inside the project.
      const cwd = variant.inDir ? dir : undefined;
      execFileSync('sh', ['-c', `${variant.cmd(dir)} >/dev/null 2>&1`], { cwd, env }); // warms caches (slipway: validates once)
      const m = measure(variant.cmd(dir), cwd);
      if (jobs === 1) base = m.mean;
      rows[i].push(`${(m.mean * 1000).toFixed(0)} ± ${(m.stddev * 1000).toFixed(0)} ms`, jobs > 1 ? `${(((m.mean - base) / (jobs - 1)) * 1000).toFixed(1)} ms` : '—');
    });
  }
  const header = ['pipeline', ...variants.flatMap((v) => [v.label, 'per extra job'])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\n(node -e 0 alone: ${(nodeOnly * 1000).toFixed(0)} ms; ${runs} runs each; ${process.version})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
