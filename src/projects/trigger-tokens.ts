/**
 * Pipeline trigger tokens (GitLab's "Pipeline trigger tokens"): an outside system runs a
 * branch or tag's pipeline with `token`, `ref`, `variables` and `inputs`, and no API key. The
 * pipeline has CI_PIPELINE_SOURCE=trigger and runs as the token's owner, who must still have
 * access to the project. Tokens are stored as SHA-256 hashes and shown once, when made.
 */
import type { Kysely } from 'kysely';
import type { Account } from '../auth/accounts.js';
import { forbidden, invalidParams, notFound, unauthorized } from '../core/errors.js';
import { newId, newSecret, now, sha256 } from '../core/ids.js';
import type { CiPipelineRow, CiTriggerTokenRow, Database, ProjectRow } from '../store/schema.js';
import type { CiService } from './ci.js';
import { insertNumbered } from './ci-job-rows.js';
import { runPipeline, type PipelineRunRequest } from './pipeline-runs.js';

/** GitLab's prefix for trigger tokens, so secret scanners recognise them. */
export const TRIGGER_TOKEN_PREFIX = 'glptt-';

export const triggerTokenNotFound = () => notFound('trigger_token', "Couldn't find that trigger token.");

export interface TriggerTokenServiceOptions {
  db: Kysely<Database>;
  ci: CiService;
  account(id: string): Promise<Account | null | undefined>;
  mayUse(account: Account, project: ProjectRow): Promise<boolean>;
}

export class TriggerTokenService {
  constructor(private readonly o: TriggerTokenServiceOptions) {}

  list(project: ProjectRow): Promise<CiTriggerTokenRow[]> {
    return this.o.db.selectFrom('ci_trigger_tokens').selectAll().where('project_id', '=', project.id).orderBy('number').execute();
  }

  /** A new token; the only time its value is known. */
  async create(project: ProjectRow, owner: Account, description: unknown): Promise<{ row: CiTriggerTokenRow; token: string }> {
    if (description !== undefined && (typeof description !== 'string' || description.length > 255)) throw invalidParams('description must be text of at most 255 characters.');
    const token = TRIGGER_TOKEN_PREFIX + newSecret(24);
    const row: CiTriggerTokenRow = {
      id: newId(),
      project_id: project.id,
      number: 0,
      description: description ?? '',
      token_hash: sha256(token),
      token_hint: token.slice(-4),
      owner_id: owner.id,
      last_used_at: null,
      created_at: now(),
    };
    row.number = await insertNumbered(this.o.db, 'ci_trigger_tokens', project.id, (number) => this.o.db.insertInto('ci_trigger_tokens').values({ ...row, number }).execute());
    return { row, token };
  }

  async remove(project: ProjectRow, number: number): Promise<CiTriggerTokenRow> {
    const row = await this.o.db.selectFrom('ci_trigger_tokens').selectAll().where('project_id', '=', project.id).where('number', '=', number).executeTakeFirst();
    if (!row) throw triggerTokenNotFound();
    await this.o.db.deleteFrom('ci_trigger_tokens').where('id', '=', row.id).execute();
    return row;
  }

  /** Runs a pipeline for whoever holds `token` (GitLab's POST /projects/:id/trigger/pipeline). */
  async trigger(project: ProjectRow, token: unknown, request: PipelineRunRequest): Promise<{ pipeline: CiPipelineRow; messages: string[] }> {
    if (typeof token !== 'string' || !token) throw unauthorized('A trigger needs its token: send token=<trigger token> (see: slipway ci:triggers:create).');
    const row = await this.o.db.selectFrom('ci_trigger_tokens').selectAll().where('project_id', '=', project.id).where('token_hash', '=', sha256(token)).executeTakeFirst();
    if (!row) throw unauthorized(`This trigger token is not valid for ${project.name}: it is wrong, or it was deleted.`);
    const owner = await this.o.account(row.owner_id);
    if (!owner || !(await this.o.mayUse(owner, project))) {
      throw forbidden(`The owner of trigger token ${row.number} no longer has access to ${project.name}: make a new token as someone who has.`);
    }
    await this.o.db.updateTable('ci_trigger_tokens').set({ last_used_at: now() }).where('id', '=', row.id).execute();
    return runPipeline(this.o.ci, project, owner, { ref: request.ref, variables: request.variables, inputs: request.inputs }, true);
  }
}
