/**
 * Review app settings of a pipeline (Heroku's review-app-config): whether pushes and merge
 * requests create review apps by themselves, whether they wait for CI, and when idle review
 * apps are destroyed. Review apps need the pipeline connected to a CI project.
 */
import type { Kysely } from 'kysely';
import type { Database, PipelineRow, ReviewAppConfigRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { PipelineService } from './pipelines.js';
import type { PipelineConnectionService } from './connections.js';
import { invalidParams, notFound } from '../core/errors.js';
import { now } from '../core/ids.js';

const DAY = 86_400;
const DEFAULT_STALE_DAYS = 5;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: DAY };

/** "30m", "2h", "5d", "45s" or a number of seconds → seconds. */
export function parseIdle(value: unknown): number {
  const match = typeof value === 'number' ? [String(value), String(value), 's'] : typeof value === 'string' ? /^\s*(\d+)\s*([smhd]?)\s*$/.exec(value) : null;
  const seconds = match ? Number(match[1]) * UNITS[match[2] || 's'] : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 365 * DAY) {
    throw invalidParams('destroy_after_idle must be a duration such as "30m", "12h" or "5d" (or a number of seconds), at most a year.');
  }
  return seconds;
}

export const formatIdle = (seconds: number): string =>
  seconds % DAY === 0 ? `${seconds / DAY}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;

export interface ConfigInput {
  repo?: unknown;
  automatic_review_apps?: unknown;
  destroy_stale_apps?: unknown;
  stale_days?: unknown;
  destroy_after_idle?: unknown;
  wait_for_ci?: unknown;
  base_name?: unknown;
  deploy_target?: unknown;
}

export class ReviewAppConfigService {
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pipelines: PipelineService,
    private readonly connections: PipelineConnectionService,
  ) {}

  /** Called after settings change (the idle sweep looks again). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  forPipeline(pipelineId: string): Promise<ReviewAppConfigRow | undefined> {
    return this.db.selectFrom('review_app_configs').selectAll().where('pipeline_id', '=', pipelineId).executeTakeFirst();
  }

  async get(actor: Account, pipelineIdOrName: string): Promise<{ pipeline: PipelineRow; config: ReviewAppConfigRow }> {
    const pipeline = await this.pipelines.resolve(actor, pipelineIdOrName);
    const config = await this.forPipeline(pipeline.id);
    if (!config) throw notConfigured(pipeline);
    return { pipeline, config };
  }

  /** Enables review apps (or changes the settings when they are enabled already). */
  async enable(actor: Account, pipelineIdOrName: string, body: ConfigInput): Promise<{ pipeline: PipelineRow; config: ReviewAppConfigRow }> {
    let pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    if (!pipeline.project_id && typeof body.repo === 'string' && body.repo !== '') {
      // Heroku's `repo` is "owner/name": the project of that name, when the caller has it.
      pipeline = (await this.connections.connect(actor, pipeline.id, { project: body.repo.split('/').pop() })).pipeline;
    }
    if (!pipeline.project_id) {
      throw invalidParams(`${pipeline.name} is not connected to a CI project; connect it first: slipway pipelines:connect ${pipeline.name} --project PROJECT`);
    }
    const existing = await this.forPipeline(pipeline.id);
    if (existing) return this.update(actor, pipeline.id, body);
    const stamp = now();
    const row: ReviewAppConfigRow = {
      pipeline_id: pipeline.id,
      automatic: 0,
      destroy_stale: 0,
      stale_seconds: DEFAULT_STALE_DAYS * DAY,
      wait_for_ci: 0,
      base_name: null,
      created_by: actor.id,
      created_at: stamp,
      updated_at: stamp,
      ...changes(body),
    };
    await this.db.insertInto('review_app_configs').values(row).execute();
    this.changed();
    return { pipeline, config: row };
  }

  async update(actor: Account, pipelineIdOrName: string, body: ConfigInput): Promise<{ pipeline: PipelineRow; config: ReviewAppConfigRow }> {
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const config = await this.forPipeline(pipeline.id);
    if (!config) throw notConfigured(pipeline);
    const patch = { ...changes(body), updated_at: now() };
    await this.db.updateTable('review_app_configs').set(patch).where('pipeline_id', '=', pipeline.id).execute();
    this.changed();
    return { pipeline, config: { ...config, ...patch } };
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Disables review apps; the review apps that exist stay until they are destroyed. */
  async disable(actor: Account, pipelineIdOrName: string): Promise<{ pipeline: PipelineRow; config: ReviewAppConfigRow }> {
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const config = await this.forPipeline(pipeline.id);
    if (!config) throw notConfigured(pipeline);
    await this.db.deleteFrom('review_app_configs').where('pipeline_id', '=', pipeline.id).execute();
    return { pipeline, config };
  }
}

const notConfigured = (pipeline: PipelineRow) =>
  notFound('review-app-config', `Review apps are not enabled on ${pipeline.name}; enable them with: slipway reviewapps:enable ${pipeline.name}`);

function flag(body: ConfigInput, key: keyof ConfigInput): number | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidParams(`${key} must be true or false.`);
  return value ? 1 : 0;
}

function changes(body: ConfigInput): Partial<ReviewAppConfigRow> {
  if (typeof body !== 'object' || body === null) throw invalidParams('Send a JSON object of review app settings.');
  const out: Partial<ReviewAppConfigRow> = {};
  const automatic = flag(body, 'automatic_review_apps');
  if (automatic !== undefined) out.automatic = automatic;
  const stale = flag(body, 'destroy_stale_apps');
  if (stale !== undefined) out.destroy_stale = stale;
  const wait = flag(body, 'wait_for_ci');
  if (wait !== undefined) out.wait_for_ci = wait;
  if (body.stale_days !== undefined) {
    if (!Number.isInteger(body.stale_days) || (body.stale_days as number) < 1 || (body.stale_days as number) > 365) throw invalidParams('stale_days must be a whole number of days from 1 to 365.');
    out.stale_seconds = (body.stale_days as number) * DAY;
  }
  if (body.destroy_after_idle !== undefined) {
    out.stale_seconds = parseIdle(body.destroy_after_idle);
    if (stale === undefined) out.destroy_stale = 1;
  }
  if (body.base_name !== undefined) {
    if (body.base_name !== null && (typeof body.base_name !== 'string' || !/^[a-z][a-z0-9-]{0,19}$/.test(body.base_name))) {
      throw invalidParams('base_name must be up to 20 lowercase letters, digits and dashes, starting with a letter (or null for the pipeline name).');
    }
    out.base_name = body.base_name as string | null;
  }
  if (body.deploy_target !== undefined && body.deploy_target !== null) throw invalidParams('Slipway has no spaces or regions to choose: leave deploy_target out.');
  return out;
}
