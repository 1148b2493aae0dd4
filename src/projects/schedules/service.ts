/**
 * Pipeline schedules (GitLab's "Pipeline schedules"): a cron line in a time zone that runs the
 * current commit of a branch or tag with CI_PIPELINE_SOURCE=schedule, the schedule's variables
 * (pipeline variables) and inputs, as the schedule's owner. A timer looks for due schedules;
 * a schedule missed while Slipway was down runs once when it is back, not once per miss. A
 * schedule is claimed (its next run moved on) before its pipeline starts, so no run happens
 * twice, even with two servers on one database.
 */
import type { Kysely } from 'kysely';
import type { Account } from '../../auth/accounts.js';
import { PlatformError, invalidParams, notFound } from '../../core/errors.js';
import { newId, now } from '../../core/ids.js';
import type { CiPipelineRow, CiScheduleRow, Database, ProjectRow } from '../../store/schema.js';
import type { CiService } from '../ci.js';
import { insertNumbered } from '../ci-job-rows.js';
import { readInputs, readVariables, refName, resolveRef } from '../pipeline-runs.js';
import { CronError, nextRun } from './cron.js';

export interface ScheduleChange {
  description?: unknown;
  ref?: unknown;
  cron?: unknown;
  cron_timezone?: unknown;
  active?: unknown;
  /** Replaces the variables: `[{key, value}]` or `{KEY: value}`. */
  variables?: unknown;
  /** Replaces the inputs: `{name: value}` (null or {} clears them). */
  inputs?: unknown;
}

export interface ScheduleServiceOptions {
  db: Kysely<Database>;
  ci: CiService;
  /** The schedule owner's account, if it still exists. */
  account(id: string): Promise<Account | null | undefined>;
  /** Whether the account may still use the project (the owner may have lost access). */
  mayUse(account: Account, project: ProjectRow): Promise<boolean>;
}

export const scheduleNotFound = () => notFound('pipeline_schedule', "Couldn't find that pipeline schedule.");

export class ScheduleService {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(private readonly o: ScheduleServiceOptions) {}

  list(project: ProjectRow): Promise<CiScheduleRow[]> {
    return this.o.db.selectFrom('ci_schedules').selectAll().where('project_id', '=', project.id).orderBy('number').execute();
  }

  async get(project: ProjectRow, number: number): Promise<CiScheduleRow> {
    const row = await this.o.db.selectFrom('ci_schedules').selectAll().where('project_id', '=', project.id).where('number', '=', number).executeTakeFirst();
    if (!row) throw scheduleNotFound();
    return row;
  }

  async create(project: ProjectRow, owner: Account, change: ScheduleChange): Promise<CiScheduleRow> {
    if (change.cron === undefined) throw invalidParams('A pipeline schedule needs a cron line, e.g. {"cron": "0 3 * * *"}.');
    const stamp = now();
    const draft: CiScheduleRow = {
      id: newId(),
      project_id: project.id,
      number: 0,
      description: '',
      ref: '',
      cron: '',
      cron_timezone: 'UTC',
      active: 1,
      variables: '[]',
      inputs: null,
      owner_id: owner.id,
      next_run_at: null,
      last_pipeline_id: null,
      last_error: null,
      created_at: stamp,
      updated_at: stamp,
    };
    // No ref given: the default branch (refName's default), checked like any other.
    const row = await this.applied(project, draft, { ...change, ref: change.ref ?? null });
    row.number = await insertNumbered(this.o.db, 'ci_schedules', project.id, (number) => this.o.db.insertInto('ci_schedules').values({ ...row, number }).execute());
    return row;
  }

  async update(project: ProjectRow, number: number, change: ScheduleChange): Promise<CiScheduleRow> {
    const current = await this.get(project, number);
    const row = await this.applied(project, { ...current }, change);
    const { id, project_id, number: n, created_at, ...fields } = row;
    await this.o.db.updateTable('ci_schedules').set({ ...fields, updated_at: now() }).where('id', '=', id).execute();
    return this.get(project, n);
  }

  async remove(project: ProjectRow, number: number): Promise<CiScheduleRow> {
    const row = await this.get(project, number);
    await this.o.db.deleteFrom('ci_schedules').where('id', '=', row.id).execute();
    return row;
  }

  /** Runs the schedule now, as `actor` (GitLab's "Play"); its next timed run stays as it was. */
  async play(project: ProjectRow, number: number, actor: Account): Promise<{ schedule: CiScheduleRow; pipeline: CiPipelineRow; messages: string[] }> {
    const schedule = await this.get(project, number);
    const { pipeline, messages, error } = await this.run(project, schedule, actor);
    if (!pipeline) throw new PlatformError(400, 'pipeline_not_created', error ?? 'No pipeline was created.');
    return { schedule: await this.get(project, number), pipeline, messages };
  }

  /** Looks for due schedules every `everyMs`. */
  start(everyMs: number): void {
    this.timer = setInterval(() => void this.runDue().catch((err) => console.error('[ci] running due pipeline schedules failed:', err)), everyMs);
    this.timer.unref();
    void this.runDue().catch((err) => console.error('[ci] running due pipeline schedules failed:', err));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Runs every active schedule whose time has come; returns how many it claimed. One sweep at a time. */
  runDue(): Promise<number> {
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(): Promise<number> {
    const at = new Date();
    const due = await this.o.db.selectFrom('ci_schedules').selectAll().where('active', '=', 1).where('next_run_at', '<=', at.toISOString()).execute();
    let claimed = 0;
    for (const schedule of due) {
      const next = safeNextRun(schedule, at);
      const taken = await this.o.db
        .updateTable('ci_schedules')
        .set({ next_run_at: next, ...(next ? {} : { active: 0, last_error: `Deactivated: its cron line ${schedule.cron} can no longer be read.` }) })
        .where('id', '=', schedule.id)
        .where('next_run_at', '=', schedule.next_run_at)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1 || !next) continue;
      claimed++;
      const project = await this.o.db.selectFrom('projects').selectAll().where('id', '=', schedule.project_id).executeTakeFirst();
      const owner = await this.o.account(schedule.owner_id);
      if (!project) continue;
      if (!owner || !(await this.o.mayUse(owner, project))) {
        // As GitLab: a schedule whose owner can no longer run pipelines is turned off, not retried.
        await this.o.db.updateTable('ci_schedules').set({ active: 0, next_run_at: null, last_error: 'Deactivated: its owner no longer has access to the project; delete it and create it again as someone who has.', updated_at: now() }).where('id', '=', schedule.id).execute();
        continue;
      }
      await this.run(project, schedule, owner).catch((err) => console.error(`[ci] pipeline schedule ${project.name}#${schedule.number} failed:`, err));
    }
    return claimed;
  }

  private async run(project: ProjectRow, schedule: CiScheduleRow, user: Account): Promise<{ pipeline?: CiPipelineRow; messages: string[]; error?: string }> {
    const messages: string[] = [];
    let pipeline: CiPipelineRow | undefined;
    let error: string | undefined;
    try {
      const repoDir = this.o.ci.repoDirOf(project);
      const { sha, tag } = await resolveRef(project, repoDir, schedule.ref);
      const variables = Object.fromEntries((JSON.parse(schedule.variables) as { key: string; value: string }[]).map((v) => [v.key, v.value]));
      pipeline = await this.o.ci.createPipeline({
        project,
        repoDir,
        revision: sha,
        refName: schedule.ref,
        tag,
        source: 'schedule',
        ...(Object.keys(variables).length ? { variables } : {}),
        ...(schedule.inputs ? { inputs: JSON.parse(schedule.inputs) as Record<string, unknown> } : {}),
        userId: user.id,
        userEmail: user.email,
        out: (line) => messages.push(line),
      });
      if (!pipeline) error = messages.join('\n') || `No pipeline was created for ${schedule.ref}.`;
    } catch (err) {
      error = (err as Error).message;
    }
    await this.o.db
      .updateTable('ci_schedules')
      .set({ last_error: error ?? null, ...(pipeline ? { last_pipeline_id: pipeline.id } : {}) })
      .where('id', '=', schedule.id)
      .execute();
    return { ...(pipeline ? { pipeline } : {}), messages, ...(error ? { error } : {}) };
  }

  /** The row with the change applied and checked; next_run_at follows cron, zone and active. */
  private async applied(project: ProjectRow, row: CiScheduleRow, change: ScheduleChange): Promise<CiScheduleRow> {
    if (change.description !== undefined) {
      if (typeof change.description !== 'string' || change.description.length > 255) throw invalidParams('description must be text of at most 255 characters.');
      row.description = change.description;
    }
    if (change.ref !== undefined) {
      const repoDir = this.o.ci.repoDirOf(project);
      row.ref = await refName(repoDir, change.ref);
      await resolveRef(project, repoDir, row.ref);
    }
    if (change.cron !== undefined) {
      if (typeof change.cron !== 'string' || !change.cron.trim()) throw invalidParams('cron must be a cron line, e.g. "0 3 * * *" (every day at 03:00).');
      row.cron = change.cron.trim().replace(/\s+/g, ' ');
    }
    if (change.cron_timezone !== undefined) {
      if (typeof change.cron_timezone !== 'string') throw invalidParams('cron_timezone must be a time zone name, e.g. "Europe/Paris".');
      row.cron_timezone = change.cron_timezone;
    }
    if (change.active !== undefined) {
      if (typeof change.active !== 'boolean') throw invalidParams('active must be true or false.');
      row.active = change.active ? 1 : 0;
    }
    if (change.variables !== undefined) row.variables = JSON.stringify(Object.entries(readVariables(change.variables)).map(([key, value]) => ({ key, value })));
    if (change.inputs !== undefined) {
      const inputs = readInputs(change.inputs);
      row.inputs = inputs ? JSON.stringify(inputs) : null;
    }
    try {
      const next = nextRun(row.cron, row.cron_timezone, new Date()).toISOString();
      row.next_run_at = row.active ? next : null;
    } catch (err) {
      if (err instanceof CronError) throw invalidParams(err.message);
      throw err;
    }
    if (row.active) row.last_error = null;
    return row;
  }
}

function safeNextRun(schedule: CiScheduleRow, after: Date): string | null {
  try {
    return nextRun(schedule.cron, schedule.cron_timezone, after).toISOString();
  } catch {
    return null;
  }
}
