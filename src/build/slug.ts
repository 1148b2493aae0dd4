/**
 * The slug: a gzipped tarball of the compiled app directory's contents (entries such as
 * `./server.js`), made with the system tar because it is much faster than doing it in JS.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BuildError } from './contract.js';

export interface Slug {
  size: number;
  /** `SHA256:<hex>` */
  checksum: string;
}

export async function createSlug(buildDir: string, slugPath: string, signal?: AbortSignal): Promise<Slug> {
  await mkdir(dirname(slugPath), { recursive: true });
  const partial = `${slugPath}.partial-${process.pid}`;
  try {
    await runTar(['-czf', partial, '--owner=0', '--group=0', '--numeric-owner', '-C', buildDir, '.'], signal);
    await rename(partial, slugPath);
  } finally {
    await rm(partial, { force: true });
  }
  const { size } = await stat(slugPath);
  return { size, checksum: `SHA256:${await sha256File(slugPath)}` };
}

function runTar(args: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'], signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (err) =>
      reject(new BuildError(signal?.aborted ? 'The build was canceled before it finished.' : `Could not run tar to create the slug: ${err.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new BuildError(`Creating the slug failed (tar exited with code ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Heroku-style short size: 512B, 12.3K, 45.6M, 1.2G. */
export function formatSize(bytes: number): string {
  const units = ['K', 'M', 'G'];
  if (bytes < 1024) return `${bytes}B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)}${units[unit]}`;
}
