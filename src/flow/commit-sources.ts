/**
 * Commits of a CI project as build sources: `git archive` of a commit stored as a source blob
 * (the same kind POST /sources makes), so builds and app setups read it like any upload.
 */
import { createReadStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from '../auth/accounts.js';
import type { ProjectRow } from '../store/schema.js';
import type { SourceService } from '../deploy/sources.js';
import { defaultBranch, git } from '../projects/repository.js';
import { newId } from '../core/ids.js';

export interface CommitSourcesOptions {
  sources: SourceService;
  /** The bare repository of a project. */
  repoDir(project: ProjectRow): string;
  /** Where archives are written before they are stored. */
  tmpDir: string;
}

export class CommitSources {
  constructor(private readonly o: CommitSourcesOptions) {}

  /** A source blob URL holding the commit as a .tar.gz. */
  async sourceUrl(actor: Pick<Account, 'id'>, project: ProjectRow, sha: string): Promise<string> {
    const path = join(this.o.tmpDir, `commit-${newId()}.tgz`);
    try {
      await git(this.o.repoDir(project), ['archive', '--format=tar.gz', '-o', path, sha]);
      const blob = await this.o.sources.create(actor as Account);
      const match = /\/sources\/([0-9a-f-]{36})\/([A-Za-z0-9_-]+)$/.exec(new URL(blob.put_url).pathname);
      if (!match) throw new Error(`unexpected source URL ${blob.put_url}`);
      await this.o.sources.put(match[1], match[2], createReadStream(path));
      return blob.get_url;
    } finally {
      rmSync(path, { force: true });
    }
  }

  /** A file of a commit, or null when the commit has none. */
  async file(project: ProjectRow, sha: string, path: string): Promise<string | null> {
    return git(this.o.repoDir(project), ['show', `${sha}:${path}`]).catch(() => null);
  }

  /** The sha a branch points at, or null when there is no such branch. */
  async branchTip(project: ProjectRow, branch: string): Promise<string | null> {
    const out = await git(this.o.repoDir(project), ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]).catch(() => '');
    return out.trim() || null;
  }

  defaultBranch(project: ProjectRow): Promise<string> {
    return defaultBranch(this.o.repoDir(project));
  }
}
