import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { exec } from '../helpers/exec.js';
import type { ExitStatus, ProcessSpec, RunningProcess } from '../../src/runtime/contract.js';
import { createLocalRuntime, type LocalRuntime } from '../../src/runtime/local/index.js';

/** Shared fixtures of the runtime tests: real tarballs, real runtimes, real processes. */

export const MODES = ['bwrap', 'none'] as const;
export type Mode = (typeof MODES)[number];

const roots: string[] = [];
after(() => {
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'slipway-rt-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

/** Builds a slug the way the builder does: a gzipped tarball with `./file` entries. */
export async function makeSlug(files: Record<string, string>): Promise<{ id: string; path: string }> {
  const dir = tempDir('slipway-slug-');
  const src = join(dir, 'src');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, name)), { recursive: true });
    writeFileSync(join(src, name), content);
  }
  mkdirSync(src, { recursive: true });
  const path = join(dir, 'slug.tgz');
  const result = await exec('tar', ['-czf', path, '-C', src, '.']);
  assert.equal(result.code, 0, result.stderr);
  return { id: `slug-${randomBytes(6).toString('hex')}`, path };
}

export function runtime(mode: Mode, dataDir = tempDir('slipway-data-')): Promise<LocalRuntime> {
  return createLocalRuntime({ dataDir, sandbox: mode });
}

let seq = 0;
export function spec(slug: { id: string; path: string }, command: string, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  seq++;
  return {
    id: `proc-${process.pid}-${seq}-${randomBytes(3).toString('hex')}`,
    appId: 'app-id',
    appName: 'demo',
    name: 'web.1',
    command,
    env: { PORT: '5000', DYNO: 'web.1' },
    slug,
    memoryMb: 256,
    ...extra,
  };
}

export interface Finished {
  status: ExitStatus;
  stdout: string;
  stderr: string;
}

/** Collects a process's output until it has exited. */
export function collect(proc: RunningProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return proc.exited.then((status) => ({ status, stdout, stderr }));
}

/** Resolves once `text` appears on stdout (the app says it is ready); output keeps collecting. */
export function waitFor(proc: RunningProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (c: Buffer | string) => {
      seen += c.toString();
      if (seen.includes(text)) {
        proc.stdout.off('data', onData);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    void proc.exited.then(() => reject(new Error(`process exited before printing ${JSON.stringify(text)}; saw ${JSON.stringify(seen)}`)));
  });
}

export async function run(rt: LocalRuntime, s: ProcessSpec): Promise<Finished> {
  return collect(await rt.start(s));
}

/** Host pids whose command line contains `marker` (to find an app's children from outside). */
export function pidsWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(marker) && state !== 'Z') out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

test('fixture slugs are tarballs of ./ entries', async () => {
  const slug = await makeSlug({ 'server.js': 'x', 'lib/a.txt': 'y' });
  const list = await exec('tar', ['-tzf', slug.path]);
  assert.deepEqual(list.stdout.split('\n').filter(Boolean).sort(), ['./', './lib/', './lib/a.txt', './server.js']);
});
