/**
 * Start-up after Slipway stopped (or died) with pipelines running: jobs that were running are
 * failed with `runner_system_failure` (their processes died with Slipway) and, when their
 * `retry:` covers that reason, get a new attempt; jobs that were waiting keep waiting. The
 * pipelines then carry on in new runners (CiService.resume); trigger jobs waiting for a child
 * pipeline go on waiting for it (the child is resumed too). Pipelines created before job
 * control (no stored plan) cannot carry on: they end failed as before.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { isBridge } from '../ci/index.js';
import { now } from '../core/ids.js';
import type { OutputStore } from '../logs/output-store.js';
import type { CiJobRow, Database } from '../store/schema.js';
import { earlierAttempts, insertAttempt, retryWanted, type ProjectLocks } from './ci-job-rows.js';
import { readPlan } from './ci-plan-store.js';

const MESSAGE = 'Slipway stopped while this job was running (system failure)';
const ACTIVE = ['pending', 'running', 'waiting_for_resource', 'scheduled'];

export async function failInterruptedJobs(deps: { db: Kysely<Database>; outputs: OutputStore; dataDir: string; locks: ProjectLocks }): Promise<void> {
  const { db, outputs } = deps;
  removeWorkDirs(deps.dataDir);
  const pipelines = await db.selectFrom('ci_pipelines').selectAll().where('status', 'in', ['created', 'running']).execute();
  const stamp = now();
  for (const pipeline of pipelines) {
    const plan = readPlan(pipeline);
    const rows = await db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', pipeline.id).where('retried', '=', 0).execute();
    // A trigger job that waits for its child pipeline runs no process: it keeps waiting.
    const bridges = new Set(plan?.jobs.filter((j) => isBridge(j.config)).map((j) => j.name));
    const interrupted = rows.filter((r) => (plan ? r.status === 'running' && !bridges.has(r.name) : ACTIVE.includes(r.status)));
    for (const row of interrupted) {
      const job = plan?.jobs.find((j) => j.name === row.name);
      const retry = job !== undefined && retryWanted(job, { reason: 'runner_system_failure', exitCode: null }, await earlierAttempts(db, row));
      if (row.status === 'running') await logLine(outputs, row, `ERROR: Job failed (system failure): ${MESSAGE}${retry ? '; it will be retried' : ''}`);
      const failed: CiJobRow = { ...row, status: 'failed', failure_reason: 'runner_system_failure', failure_message: MESSAGE, finished_at: stamp, updated_at: stamp };
      await db.updateTable('ci_jobs').set({ status: 'failed', failure_reason: 'runner_system_failure', failure_message: MESSAGE, finished_at: stamp, updated_at: stamp }).where('id', '=', row.id).execute();
      if (retry) await deps.locks.run(row.project_id, () => insertAttempt(db, failed, 'pending', row.user_id));
    }
    if (plan) {
      // Waiting jobs wait again; the resumed runner hands out resource groups afresh.
      await db.updateTable('ci_jobs').set({ status: 'pending', updated_at: stamp }).where('pipeline_id', '=', pipeline.id).where('status', '=', 'waiting_for_resource').execute();
      continue;
    }
    await db.updateTable('ci_jobs').set({ status: 'skipped', finished_at: stamp, updated_at: stamp }).where('pipeline_id', '=', pipeline.id).where('status', '=', 'created').execute();
    await db.updateTable('ci_pipelines').set({ status: 'failed', failure_reason: 'runner_system_failure', finished_at: stamp, updated_at: stamp }).where('id', '=', pipeline.id).execute();
  }
}

async function logLine(outputs: OutputStore, row: CiJobRow, line: string): Promise<void> {
  const w = outputs.open(row.log_key);
  w.line(line);
  await w.close();
}

/** Checkouts and job directories of the previous run (artifacts and caches stay). */
function removeWorkDirs(dataDir: string): void {
  const root = join(dataDir, 'ci');
  for (const project of safeReaddir(root)) {
    for (const entry of safeReaddir(join(root, project))) {
      if (entry.startsWith('src-') || entry === 'pipelines') rmSync(join(root, project, entry), { recursive: true, force: true });
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
