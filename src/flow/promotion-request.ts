import type { AppRow, PipelineCouplingRow, PipelineRow, ReleaseRow, SlugRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { ReleaseService } from '../release/releases.js';
import { invalidParams } from '../core/errors.js';
import { PROMOTION_ORDER, type PipelineService } from './pipelines.js';

export interface PromotionRequest {
  pipeline?: { id?: unknown } | null;
  source?: { app?: { id?: unknown } | null } | null;
  targets?: unknown;
}

export interface ResolvedPromotion {
  pipeline: PipelineRow;
  source: AppRow;
  release: ReleaseRow;
  slug: SlugRow;
  targets: Array<{ app: AppRow; stage: string }>;
}

/**
 * Checks a promotion request and resolves everything it names: the pipeline, the source app
 * and the release it will ship (its current one), and the targets with their stages (the
 * next stage's apps when none are named). Every problem is a clear error; nothing is written.
 */
export async function resolvePromotion(
  deps: { apps: AppService; pipelines: PipelineService; releases: ReleaseService },
  actor: Account,
  body: PromotionRequest,
): Promise<ResolvedPromotion> {
  if (!body || typeof body !== 'object') throw invalidParams('Send {"pipeline": {"id": …}, "source": {"app": {"id": …}}, "targets": [{"app": {"id": …}}]}.');
  const pipelineId = body.pipeline?.id;
  const sourceId = body.source?.app?.id;
  if (typeof pipelineId !== 'string' || pipelineId === '') throw invalidParams('pipeline.id must name the pipeline to promote in.');
  if (typeof sourceId !== 'string' || sourceId === '') throw invalidParams('source.app.id must name the app to promote from.');
  const pipeline = await deps.pipelines.resolve(actor, pipelineId);
  const source = await deps.apps.resolve(actor, sourceId);
  const couplings = await deps.pipelines.couplingsOf(actor, pipeline.id);
  const sourceCoupling = couplings.find((c) => c.app_id === source.id);
  if (!sourceCoupling) throw invalidParams(`${source.name} is not in pipeline ${pipeline.name}.`);

  const targets = await resolveTargets(deps, actor, body.targets, { pipeline, source, sourceCoupling, couplings });
  const { release, slug } = await promotableRelease(deps.releases, source);
  return { pipeline, source, release, slug, targets };
}

async function resolveTargets(
  deps: { apps: AppService },
  actor: Account,
  requested: unknown,
  ctx: { pipeline: PipelineRow; source: AppRow; sourceCoupling: PipelineCouplingRow; couplings: PipelineCouplingRow[] },
): Promise<Array<{ app: AppRow; stage: string }>> {
  const { pipeline, source, sourceCoupling, couplings } = ctx;
  const targets: Array<{ app: AppRow; stage: string }> = [];
  if (requested === undefined || requested === null || (Array.isArray(requested) && requested.length === 0)) {
    const next = PROMOTION_ORDER[PROMOTION_ORDER.indexOf(sourceCoupling.stage) + 1];
    if (!PROMOTION_ORDER.includes(sourceCoupling.stage) || !next) {
      throw invalidParams(`Cannot promote ${source.name} from the ${sourceCoupling.stage} stage: there is no downstream stage. Name the target apps explicitly.`);
    }
    for (const c of couplings.filter((c) => c.stage === next)) {
      const app = await deps.apps.getById(c.app_id);
      if (app) targets.push({ app, stage: c.stage });
    }
    if (targets.length === 0) {
      throw invalidParams(`Cannot promote ${source.name}: pipeline ${pipeline.name} has no apps in the ${next} stage. Add one first (slipway pipelines:add ${pipeline.name} -a APP --stage ${next}).`);
    }
    return targets;
  }
  if (!Array.isArray(requested)) throw invalidParams('targets must be a list of {"app": {"id": …}}.');
  for (const t of requested as Array<{ app?: { id?: unknown } } | null>) {
    const id = t?.app?.id;
    if (typeof id !== 'string' || id === '') throw invalidParams('Each target needs app.id.');
    const app = await deps.apps.resolve(actor, id);
    if (app.id === source.id) throw invalidParams(`Cannot promote ${source.name} to itself.`);
    const coupling = couplings.find((c) => c.app_id === app.id);
    if (!coupling) throw invalidParams(`${app.name} is not in pipeline ${pipeline.name}; only apps of the same pipeline can be promotion targets.`);
    if (!targets.some((x) => x.app.id === app.id)) targets.push({ app, stage: coupling.stage });
  }
  return targets;
}

/**
 * The release a promotion ships: the source's current release, provided its newest release is
 * that one. A newer release that failed or is still running its release phase is an error:
 * promoting then would ship older code than the source app appears to run.
 */
async function promotableRelease(releases: ReleaseService, source: AppRow): Promise<{ release: ReleaseRow; slug: SlugRow }> {
  const all = await releases.list(source.id);
  const newest = all[all.length - 1];
  const current = await releases.current(source.id);
  if (newest && newest.status === 'pending') {
    throw invalidParams(`${source.name} v${newest.version} is still running its release phase; wait until it finishes, then promote.`);
  }
  if (newest && newest.status === 'failed' && newest.id !== current?.id) {
    throw invalidParams(
      `The latest release of ${source.name} (v${newest.version}) failed, so there is nothing good to promote. ` +
        `Fix it and deploy again, or roll back (slipway rollback -a ${source.name}), then promote.`,
    );
  }
  const slug = await releases.slug(current?.slug_id ?? null);
  if (!current || !slug) throw invalidParams(`${source.name} has no slug to promote: deploy it first.`);
  return { release: current, slug };
}
