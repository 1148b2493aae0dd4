import type { Kysely } from 'kysely';
import type { Database, ProjectRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import { newId, now, isUuid } from '../core/ids.js';
import { forbidden, invalidParams, notFound } from '../core/errors.js';
import { validateAppName } from '../core/names.js';

export const projectNotFound = () => notFound('project', "Couldn't find that project.");

/**
 * CI projects, ownership and access (the owner, and admins). Project and app names share
 * the `/<name>.git` URL space, so a name taken by either is refused for the other.
 */
export class ProjectService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hooks: { created(project: ProjectRow): Promise<void> },
  ) {}

  async create(actor: Account, rawName: unknown): Promise<ProjectRow> {
    if (typeof rawName !== 'string' || rawName === '') throw invalidParams('A project needs a name, e.g. {"name": "shop"}.');
    const name = validateAppName(rawName);
    const taken = await this.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
    if (taken) throw invalidParams(`Name ${name} is already taken by a project; choose another name.`);
    const app = await this.db.selectFrom('apps').select('id').where('name', '=', name).executeTakeFirst();
    if (app) throw invalidParams(`Name ${name} is already taken by an app (they share the git URL /${name}.git); choose another name.`);
    const stamp = now();
    const row: ProjectRow = { id: newId(), name, owner_id: actor.id, created_at: stamp, updated_at: stamp };
    try {
      await this.db.insertInto('projects').values(row).execute();
    } catch (err) {
      if (String(err).match(/unique|duplicate/i)) throw invalidParams(`Name ${name} is already taken by a project; choose another name.`);
      throw err;
    }
    try {
      await this.hooks.created(row);
    } catch (err) {
      await this.db.deleteFrom('projects').where('id', '=', row.id).execute();
      throw err;
    }
    return row;
  }

  async list(actor: Account): Promise<ProjectRow[]> {
    let query = this.db.selectFrom('projects').selectAll().orderBy('name');
    if (!actor.admin) query = query.where('owner_id', '=', actor.id);
    return query.execute();
  }

  async find(idOrName: string): Promise<ProjectRow | undefined> {
    const column = isUuid(idOrName) ? 'id' : 'name';
    return this.db.selectFrom('projects').selectAll().where(column, '=', idOrName).executeTakeFirst();
  }

  /** Finds a project by name or id, checking the actor may use it. */
  async resolve(actor: Account, idOrName: string): Promise<ProjectRow> {
    const project = await this.find(idOrName);
    if (!project) throw projectNotFound();
    if (!actor.admin && project.owner_id !== actor.id) throw forbidden(`You do not have access to the project ${project.name}.`);
    return project;
  }
}
