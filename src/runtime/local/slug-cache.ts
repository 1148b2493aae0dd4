import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);

/** Slug ids and process ids become directory names: keep them to one safe path segment. */
export function assertSafeId(kind: string, id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new Error(`invalid ${kind} id ${JSON.stringify(id)}: use letters, digits, '.', '_' and '-'`);
  }
}

/**
 * Extracted slugs under `<dataDir>/run/slugs/<slugId>`, each extracted once and shared
 * read-only by every dyno of it; each dyno then gets a private copy to write into.
 */
export class SlugCache {
  private readonly pending = new Map<string, Promise<string>>();
  /** One ready-made private copy per slug, so the next start only renames (copies are slow). */
  private readonly spares = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly dir: string,
    private readonly sparesDir: string,
  ) {}

  /** Gives `destination` a private copy of the extracted slug, then prepares the next one. */
  async checkout(slugId: string, extracted: string, destination: string): Promise<void> {
    const spare = await this.spares.get(slugId);
    this.spares.delete(slugId);
    let done = false;
    if (spare) done = await rename(spare, destination).then(() => true, () => false);
    if (!done) await this.copy(extracted, destination);
    const next = join(this.sparesDir, `${slugId}-${randomBytes(6).toString('hex')}`);
    const prepared = mkdir(this.sparesDir, { recursive: true })
      .then(() => this.copy(extracted, next))
      .then(() => next, () => rm(next, { recursive: true, force: true }).then(() => undefined));
    this.spares.set(slugId, prepared);
  }

  /** Paths of spare copies this cache still owns (everything else in sparesDir is stale). */
  async sparePaths(): Promise<Set<string>> {
    const paths = await Promise.all([...this.spares.values()].map((p) => p.catch(() => undefined)));
    return new Set(paths.filter((p): p is string => p !== undefined));
  }

  /** Returns the extracted slug directory, extracting it on first use. */
  extracted(slug: { id: string; path: string }): Promise<string> {
    assertSafeId('slug', slug.id);
    const target = join(this.dir, slug.id);
    if (existsSync(target)) return Promise.resolve(target);
    // Concurrent starts of one slug share one extraction.
    let job = this.pending.get(slug.id);
    if (!job) {
      job = this.extract(slug.path, target).finally(() => this.pending.delete(slug.id));
      this.pending.set(slug.id, job);
    }
    return job;
  }

  private async extract(tarball: string, target: string): Promise<string> {
    if (!existsSync(tarball)) throw new Error(`slug tarball not found: ${tarball}`);
    // Extract beside the target and rename, so a half-written slug is never used.
    const tmp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      await run('tar', ['-xzf', tarball, '-C', tmp, '--no-same-owner', '--delay-directory-restore'], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
      throw new Error(`cannot extract slug ${tarball}: ${detail}`);
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another Slipway process won the race; its extraction is as good as ours.
      await rm(tmp, { recursive: true, force: true });
      if (!existsSync(target)) throw err;
    }
    return target;
  }

  /** Makes a dyno's private writable copy of an extracted slug (reflinks where supported). */
  async copy(source: string, destination: string): Promise<void> {
    try {
      await run('cp', ['-a', '--reflink=auto', `${source}/.`, destination]);
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
      throw new Error(`cannot copy slug ${source} to ${destination}: ${detail}`);
    }
  }

  async forget(slugId: string): Promise<void> {
    assertSafeId('slug', slugId);
    const spare = await this.spares.get(slugId);
    this.spares.delete(slugId);
    if (spare) await rm(spare, { recursive: true, force: true });
    await rm(join(this.dir, slugId), { recursive: true, force: true });
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }
}
