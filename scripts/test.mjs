#!/usr/bin/env node
// Runs the whole test suite: every test once on the embedded SQLite store, then the tests
// that touch the state store (test/e2e, test/store) again on a PostgreSQL server that this
// script starts on a free port and removes afterwards. Ends with "N passed, N failed".
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync, statSync, mkdtempSync, rmSync, chownSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const only = process.argv.slice(2); // optional filters: substrings of test file paths
const concurrency = Number(process.env.SLIPWAY_TEST_CONCURRENCY ?? 3);

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'helpers' ? [] : findTests(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const all = findTests(testDir).filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
const usesStore = (f) => /\/(e2e|store)\//.test(relative(testDir, f).replace(/^/, '/'));

const totals = { passed: 0, failed: 0, skipped: 0 };

function runPhase(label, files, env) {
  return new Promise((resolve) => {
    if (files.length === 0) return resolve();
    console.log(`\n=== ${label}: ${files.length} test files ===`);
    Object.assign(process.env, env);
    const childSeen = new Map(); // per file: nesting -> whether a child finished
    const count = (kind) => (data) => {
      const key = data.file ?? '?';
      const seen = childSeen.get(key) ?? [];
      childSeen.set(key, seen);
      const leaf = !seen[data.nesting + 1];
      seen[data.nesting + 1] = false;
      seen[data.nesting] = true;
      if (!leaf || data.details?.type === 'suite') return;
      if (data.skip || data.todo) totals.skipped++;
      else totals[kind]++;
    };
    const stream = run({ files, concurrency, timeout: 15 * 60 * 1000 });
    stream.on('test:pass', count('passed'));
    stream.on('test:fail', count('failed'));
    const out = stream.compose(spec);
    out.pipe(process.stdout, { end: false });
    out.on('end', resolve);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function findPgBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : null;
}

async function startPostgres() {
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql); the suite must also run on it.');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-pg-'));
  const isRoot = process.getuid?.() === 0;
  const as = (cmd, args) => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const [c1, a1] = as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(c1, a1, { stdio: 'ignore' });
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400`;
  const [c2, a2] = as(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'pg.log'), '-w', 'start']);
  execFileSync(c2, a2, { stdio: 'ignore' });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      const [c3, a3] = as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      spawnSync(c3, a3, { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

await runPhase('SQLite store', all, { SLIPWAY_TEST_STORE: 'sqlite' });
const storeTests = all.filter(usesStore);
if (storeTests.length > 0 && process.env.SLIPWAY_TEST_SKIP_POSTGRES !== '1') {
  const pg = await startPostgres();
  try {
    await runPhase('PostgreSQL store', storeTests, { SLIPWAY_TEST_STORE: 'postgres', SLIPWAY_TEST_PG_URL: pg.url });
  } finally {
    pg.stop();
  }
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exitCode = totals.failed > 0 || totals.passed === 0 ? 1 : 0;
