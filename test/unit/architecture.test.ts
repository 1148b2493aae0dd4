/**
 * Keeps the dependency direction of docs/ARCHITECTURE.md true: no import cycles, the CLI
 * only talks to the API, services never import the API/git/CLI shells, core imports nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { ROOT } from '../helpers/slipway.js';

const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** file (relative to src, .ts) → files it imports (same form). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)) {
      targets.push(relative(SRC, resolve(dirname(file), match[1])).replace(/\.js$/, '.ts'));
    }
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

const top = (file: string) => (file.includes('/') ? file.split('/')[0] : file.replace(/\.ts$/, ''));

const INTERFACES = ['api', 'git', 'cli', 'server', 'main'];
const SERVICES = ['auth', 'apps', 'deploy', 'build', 'release', 'runtime', 'router', 'logs', 'tls', 'flow', 'webhooks', 'projects'];

test('there are no import cycles', () => {
  const graph = importGraph();
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('dependencies point from interfaces to services to store and core', () => {
  const violations: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = top(file);
    for (const target of targets) {
      const to = top(target);
      if (from === to) continue;
      const bad =
        (from === 'core' && to !== 'core') ||
        (from === 'store' && to !== 'core') ||
        (from === 'cli' && to !== 'core' && to !== 'ci') ||
        (from === 'ci' && to !== 'core') ||
        (SERVICES.includes(from) && INTERFACES.includes(to)) ||
        (from !== 'main' && to === 'server') ||
        (to === 'cli' && from !== 'cli');
      if (bad) violations.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('source files stay small enough to read', () => {
  const large = sourceFiles(SRC)
    .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length }))
    .filter((f) => f.lines > 450)
    .map((f) => `${f.file}: ${f.lines} lines`);
  assert.deepEqual(large, []);
});
