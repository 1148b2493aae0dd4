import type { Kysely } from 'kysely';
import type { Database, AppRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import { currentRelease } from '../store/queries.js';
import { invalidParams } from '../core/errors.js';
import { PROMOTION_ORDER, type PipelineService } from './pipelines.js';
import { commitsBetween, countBetween, hasCommit, looksLikeSha, type DiffCommit } from './diff-git.js';

/** Where the bare repositories are (the git layer knows; the composition root plugs it in). */
export interface RepoLocator {
  appRepo(appName: string): string;
  projectRepo(projectName: string): string;
}

export interface DiffComparison {
  app: { id: string; name: string };
  commit: string | null;
  /** up_to_date, ahead, behind, diverged or not_comparable. */
  state: string;
  /** Commits the source has that this app lacks, and the reverse (null when not comparable). */
  ahead: number | null;
  behind: number | null;
  /** The source's commits this app lacks, newest first (at most MAX_COMMITS). */
  commits: DiffCommit[];
  message: string;
}

export interface PipelineDiff {
  app: { id: string; name: string };
  pipeline: { id: string; name: string };
  stage: string;
  downstream_stage: string;
  commit: string | null;
  comparisons: DiffComparison[];
}

const MAX_COMMITS = 100;
const short = (sha: string) => sha.slice(0, 7);

/**
 * `pipelines:diff`: the commits between an app's current release and those of the apps in the
 * next stage. Commits come from the bare repositories Slipway holds: the two apps', the other
 * apps' of the pipeline and its connected CI project's; the first that has both commits is used.
 */
export class PipelineDiffService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly apps: AppService,
    private readonly pipelines: PipelineService,
    private readonly repos: RepoLocator,
  ) {}

  async diff(actor: Account, appIdOrName: string): Promise<PipelineDiff> {
    const app = await this.apps.resolve(actor, appIdOrName);
    const coupling = await this.pipelines.couplingOfApp(app);
    const pipeline = await this.pipelines.resolve(actor, coupling.pipeline_id);
    const next = PROMOTION_ORDER.includes(coupling.stage) ? PROMOTION_ORDER[PROMOTION_ORDER.indexOf(coupling.stage) + 1] : undefined;
    if (!next) throw invalidParams(`${app.name} is in the ${coupling.stage} stage of ${pipeline.name}: there is no downstream stage to compare it with.`);
    const couplings = await this.pipelines.couplingsOf(actor, pipeline.id);
    const downstream: AppRow[] = [];
    for (const c of couplings.filter((c) => c.stage === next)) {
      const found = await this.apps.getById(c.app_id);
      if (found) downstream.push(found);
    }
    if (downstream.length === 0) throw invalidParams(`Pipeline ${pipeline.name} has no apps in the ${next} stage to compare ${app.name} with.`);

    const repos = await this.candidateRepos(pipeline.project_id, [app, ...downstream], couplings.map((c) => c.app_id));
    const source = await this.commitOf(app);
    const comparisons: DiffComparison[] = [];
    for (const target of downstream) comparisons.push(await this.compare(app, source, target, await this.commitOf(target), repos));
    return {
      app: { id: app.id, name: app.name },
      pipeline: { id: pipeline.id, name: pipeline.name },
      stage: coupling.stage,
      downstream_stage: next,
      commit: source.sha,
      comparisons,
    };
  }

  private async compare(app: AppRow, source: Commit, target: AppRow, other: Commit, repos: string[]): Promise<DiffComparison> {
    const base = { app: { id: target.id, name: target.name }, commit: other.sha, commits: [] as DiffCommit[] };
    const missing = !source.sha ? [app.name, source.why] : !other.sha ? [target.name, other.why] : undefined;
    if (missing) return { ...base, state: 'not_comparable', ahead: null, behind: null, message: `Cannot compare ${app.name} with ${target.name}: ${missing[0]} ${missing[1]}.` };
    const from = source.sha as string;
    const to = other.sha as string;
    if (from === to) return { ...base, state: 'up_to_date', ahead: 0, behind: 0, message: `${app.name} is up to date with ${target.name}.` };
    let repo: string | undefined;
    for (const candidate of repos) {
      if ((await hasCommit(candidate, from)) && (await hasCommit(candidate, to))) {
        repo = candidate;
        break;
      }
    }
    if (!repo) {
      return {
        ...base,
        state: 'not_comparable',
        ahead: null,
        behind: null,
        message: `Cannot compare ${app.name} with ${target.name}: no git repository on this server holds both ${short(from)} and ${short(to)} (one of them may have been built from a source tarball, or pushed to another server).`,
      };
    }
    const ahead = await countBetween(repo, to, from);
    const behind = await countBetween(repo, from, to);
    const commits = ahead > 0 ? await commitsBetween(repo, to, from, MAX_COMMITS) : [];
    const plural = (n: number) => `${n} commit${n === 1 ? '' : 's'}`;
    const state = ahead > 0 && behind > 0 ? 'diverged' : ahead > 0 ? 'ahead' : behind > 0 ? 'behind' : 'up_to_date';
    const message =
      state === 'ahead'
        ? `${app.name} is ahead of ${target.name} by ${plural(ahead)}.`
        : state === 'behind'
          ? `${app.name} is behind ${target.name} by ${plural(behind)}: ${target.name} runs newer code.`
          : state === 'diverged'
            ? `${app.name} and ${target.name} have diverged: ${app.name} has ${plural(ahead)} that ${target.name} lacks, and ${target.name} has ${plural(behind)} that ${app.name} lacks.`
            : `${app.name} is up to date with ${target.name}.`;
    return { ...base, state, ahead, behind, commits, message };
  }

  /** The commit an app's current release runs, or why there is none. */
  private async commitOf(app: AppRow): Promise<Commit> {
    const release = await currentRelease(this.db, app.id);
    if (!release) return { sha: null, why: 'has no release yet' };
    const slug = release.slug_id ? await this.db.selectFrom('slugs').select('commit').where('id', '=', release.slug_id).executeTakeFirst() : undefined;
    if (!slug) return { sha: null, why: `has no code deployed yet (its v${release.version} has no slug)` };
    if (!slug.commit) return { sha: null, why: `v${release.version} was built from a source without a version, so its commit is unknown` };
    if (!looksLikeSha(slug.commit)) return { sha: null, why: `v${release.version} was built from a source tarball (version ${JSON.stringify(slug.commit)}), not from a git commit` };
    return { sha: slug.commit.toLowerCase(), why: '' };
  }

  private async candidateRepos(projectId: string | null, first: AppRow[], pipelineAppIds: string[]): Promise<string[]> {
    const repos = first.map((a) => this.repos.appRepo(a.name));
    if (projectId) {
      const project = await this.db.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirst();
      if (project) repos.push(this.repos.projectRepo(project.name));
    }
    for (const id of pipelineAppIds) {
      const other = await this.apps.getById(id);
      if (other) repos.push(this.repos.appRepo(other.name));
    }
    return [...new Set(repos)];
  }
}

interface Commit {
  sha: string | null;
  why: string;
}
