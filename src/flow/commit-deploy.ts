/**
 * Deploying a commit of a connected project to apps: build it once on one app, then give the
 * other apps the same slug (new releases with their own config vars, as promotions do).
 */
import type { Account } from '../auth/accounts.js';
import type { AppRow, BuildRow, ProjectRow, ReleaseRow } from '../store/schema.js';
import type { BuildService } from '../deploy/builds.js';
import type { ReleaseService } from '../release/releases.js';
import { parseConfig } from '../release/releases.js';
import type { CommitSources } from './commit-sources.js';

export interface BuiltCommit {
  build: BuildRow;
  /** The settled release, when the build succeeded. */
  release: ReleaseRow | null;
  /** Why it did not end in a succeeded release. */
  error: string | null;
}

export class CommitDeployer {
  constructor(
    private readonly builds: BuildService,
    private readonly releases: ReleaseService,
    private readonly sources: CommitSources,
  ) {}

  /** Builds the commit on `app` and waits for the build and its release phase. */
  async build(app: AppRow, actor: Account, project: ProjectRow, sha: string, started?: (build: BuildRow) => Promise<void>): Promise<BuiltCommit> {
    const url = await this.sources.sourceUrl(actor, project, sha);
    const build = await this.builds.createFromUrl(app, actor, { source_blob: { url, version: sha } });
    await started?.(build);
    const outcome = await this.builds.outcome(build.id);
    if (!outcome || outcome.build.status !== 'succeeded' || !outcome.release) {
      const why = outcome?.build.failure_message ?? 'see the build output';
      return { build: outcome?.build ?? build, release: null, error: `the build of ${sha.slice(0, 7)} on ${app.name} failed: ${why}` };
    }
    const release = await this.releases.settle(outcome.release);
    if (release.status !== 'succeeded') {
      return { build: outcome.build, release, error: `the release phase of ${app.name} v${release.version} failed; ${app.name} keeps its previous release` };
    }
    return { build: outcome.build, release, error: null };
  }

  /** A new release of `app` with an existing slug and the app's own config; waits for its release phase. */
  async releaseSlug(app: AppRow, actor: Account, slugId: string, description: string): Promise<ReleaseRow> {
    const created = await this.releases.create({ app, actor, slugId, config: parseConfig(app.config), description });
    return this.releases.settle(created);
  }
}
