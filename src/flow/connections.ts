/**
 * Connecting a pipeline to a CI project (`pipelines:connect`): the project's pushes, CI
 * pipelines and merge requests then drive the pipeline's auto-deploys and review apps.
 */
import type { Kysely } from 'kysely';
import type { Database, PipelineRow, ProjectRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { PipelineService } from './pipelines.js';
import type { ProjectService } from '../projects/projects.js';
import { invalidParams } from '../core/errors.js';
import { now } from '../core/ids.js';

export interface PipelineConnection {
  pipeline: PipelineRow;
  project: ProjectRow | null;
}

export class PipelineConnectionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pipelines: PipelineService,
    private readonly projects: ProjectService,
  ) {}

  async get(actor: Account, pipelineIdOrName: string): Promise<PipelineConnection> {
    const pipeline = await this.pipelines.resolve(actor, pipelineIdOrName);
    return { pipeline, project: await this.projectOf(pipeline) };
  }

  /** Connects the pipeline to a project; the caller must own the pipeline and have the project. */
  async connect(actor: Account, pipelineIdOrName: string, body: { project?: unknown }): Promise<PipelineConnection> {
    const name = typeof body.project === 'object' && body.project !== null ? (body.project as { id?: unknown; name?: unknown }).id ?? (body.project as { name?: unknown }).name : body.project;
    if (typeof name !== 'string' || name === '') throw invalidParams('project must be the name or id of a CI project, e.g. {"project": "shop"}.');
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const project = await this.projects.resolve(actor, name);
    const stamp = now();
    await this.db.updateTable('pipelines').set({ project_id: project.id, updated_at: stamp }).where('id', '=', pipeline.id).execute();
    return { pipeline: { ...pipeline, project_id: project.id, updated_at: stamp }, project };
  }

  async disconnect(actor: Account, pipelineIdOrName: string): Promise<PipelineConnection> {
    const pipeline = await this.pipelines.resolveOwned(actor, pipelineIdOrName);
    const stamp = now();
    await this.db.updateTable('pipelines').set({ project_id: null, updated_at: stamp }).where('id', '=', pipeline.id).execute();
    return { pipeline: { ...pipeline, project_id: null, updated_at: stamp }, project: null };
  }

  async projectOf(pipeline: PipelineRow): Promise<ProjectRow | null> {
    if (!pipeline.project_id) return null;
    return (await this.projects.find(pipeline.project_id)) ?? null;
  }

  /** The pipelines connected to a project. */
  connectedTo(projectId: string): Promise<PipelineRow[]> {
    return this.db.selectFrom('pipelines').selectAll().where('project_id', '=', projectId).orderBy('created_at').execute();
  }
}
