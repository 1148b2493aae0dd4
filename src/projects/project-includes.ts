/**
 * include:project in server mode: a pipeline may include files of another project on this
 * Slipway when the pipeline's user may read that project (its owner, or an admin), as GitLab
 * requires read access for the triggering user. Files are read from the project's bare
 * repository at the given ref, or at its default branch.
 */
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { ProjectFileReader } from '../ci/index.js';
import type { Database } from '../store/schema.js';
import { defaultBranch, git } from './repository.js';

const PROJECT_NAME = /^[a-z][a-z0-9-]{1,29}$/;

export function projectFileReader(db: Kysely<Database>, ownRepoDir: string, userId: string | null): ProjectFileReader {
  return async (path, ref, file) => {
    // CI_PROJECT_PATH is `projects/<name>`; accept it as well as the bare name.
    const name = path.replace(/^\/?projects\//, '').replace(/\/+$/, '');
    if (!PROJECT_NAME.test(name)) throw new Error(`"${path}" is not a project path (use the project's name, e.g. ci-templates)`);
    const project = await db.selectFrom('projects').select(['id', 'owner_id']).where('name', '=', name).executeTakeFirst();
    const account = userId ? await db.selectFrom('accounts').select(['id', 'admin']).where('id', '=', userId).executeTakeFirst() : undefined;
    const allowed = project && account && (project.owner_id === account.id || Boolean(account.admin));
    // Unknown and forbidden read alike, so a pipeline cannot probe for other users' projects.
    if (!project || !allowed) throw new Error(`project ${name} does not exist or the pipeline's user cannot read it`);
    const repoDir = join(dirname(ownRepoDir), `${name}.git`);
    const revision = ref ?? (await defaultBranch(repoDir));
    let sha: string;
    try {
      sha = (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`])).trim();
    } catch {
      throw new Error(`project ${name} has no branch, tag or commit "${revision}"`);
    }
    const listed = (await git(repoDir, ['ls-tree', '--name-only', sha, '--', file])).trim();
    if (listed !== file) return undefined;
    return git(repoDir, ['cat-file', 'blob', `${sha}:${file}`]);
  };
}
