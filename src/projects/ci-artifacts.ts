/**
 * Durable job artifacts for server-mode CI: each job attempt's files live under
 * <data>/ci/<project>/artifacts/<job row id>/ and are described in ci_jobs.artifacts, so a job
 * that runs later (played, retried, or after a restart) receives its dependencies' artifacts,
 * and `GET …/jobs/N/artifacts` serves them as a gzipped tarball.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { create as createTar } from 'tar';
import type { PlannedJob } from '../ci/index.js';
import type { ArtifactStore, StoredArtifacts } from '../ci/run/index.js';
import type { CiJobRow, Database } from '../store/schema.js';
import { readArtifacts, type StoredArtifactsInfo } from './ci-plan-store.js';

export const jobArtifactsDir = (dataDir: string, row: Pick<CiJobRow, 'project_id' | 'id'>) => join(dataDir, 'ci', row.project_id, 'artifacts', row.id);

/** The artifacts store of one pipeline; `current(name)` is the row of the attempt now running. */
export function pipelineArtifacts(db: Kysely<Database>, dataDir: string, pipelineId: string, current: (job: PlannedJob) => CiJobRow): ArtifactStore {
  return {
    async list(): Promise<StoredArtifacts[]> {
      const rows = await db.selectFrom('ci_jobs').selectAll().where('pipeline_id', '=', pipelineId).where('retried', '=', 0).where('artifacts', 'is not', null).orderBy('position').execute();
      return rows.map((row) => {
        const info = readArtifacts(row)!;
        return {
          job: row.name,
          stageIndex: row.stage_index,
          dir: jobArtifactsDir(dataDir, row),
          files: info.files,
          dotenv: info.dotenv,
          ...(info.expire_in !== undefined ? { expireIn: info.expire_in } : {}),
          ...(info.expires_at !== undefined ? { expiresAt: Date.parse(info.expires_at) } : {}),
        };
      });
    },
    dir(job) {
      const dir = jobArtifactsDir(dataDir, current(job));
      rmSync(dir, { recursive: true, force: true });
      return dir;
    },
    async save(job, entry) {
      const info: StoredArtifactsInfo = {
        files: entry.files,
        dotenv: entry.dotenv,
        ...(entry.expireIn !== undefined ? { expire_in: entry.expireIn } : {}),
        ...(entry.expiresAt !== undefined ? { expires_at: new Date(entry.expiresAt).toISOString() } : {}),
      };
      await db.updateTable('ci_jobs').set({ artifacts: JSON.stringify(info) }).where('id', '=', current(job).id).execute();
    },
  };
}

/** The job's artifact files as a gzipped tarball, or undefined when it kept none (or they expired). */
export function artifactsArchive(dataDir: string, row: CiJobRow): Readable | undefined {
  const info = readArtifacts(row);
  if (!info || info.files.length === 0) return undefined;
  if (info.expires_at && Date.parse(info.expires_at) < Date.now()) return undefined;
  return createTar({ gzip: true, cwd: jobArtifactsDir(dataDir, row), portable: true }, info.files) as unknown as Readable;
}
