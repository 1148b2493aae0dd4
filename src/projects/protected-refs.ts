/**
 * Protected branches and tags of a project (names or `*` wildcards, as GitLab). A pipeline on
 * a protected ref gets CI_COMMIT_REF_PROTECTED=true and the project's protected variables.
 * Pushes may not delete protected refs, move protected tags, or rewrite protected branches
 * unless they allow force pushes (`pushRules`, enforced by push-rules.ts in git's update hook).
 * As in GitLab, the project's default branch is protected from the start: the first time a
 * project's protection is read, its default branch is added (once, so unprotecting it sticks).
 */
import type { Kysely } from 'kysely';
import type { CiProtectedRefRow, Database, ProjectRow } from '../store/schema.js';
import { newId, now } from '../core/ids.js';
import { conflict, invalidParams, notFound } from '../core/errors.js';
import { wildcardMatches } from './environment-scope.js';
import type { PushRules } from './push-rules.js';

export type RefKind = 'branch' | 'tag';

/** Characters git allows in a ref name, plus `*`. */
const PATTERN = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*@\{)[^\s~^:?[\\\x00-\x1f\x7f]{1,255}(?<![/.])$/;

export class ProtectedRefService {
  constructor(
    private readonly db: Kysely<Database>,
    /** The project's default branch (its repository's HEAD). */
    private readonly defaultBranch: (project: ProjectRow) => Promise<string>,
  ) {}

  async list(project: ProjectRow, kind?: RefKind): Promise<CiProtectedRefRow[]> {
    await this.applyDefaults(project);
    let query = this.db.selectFrom('ci_protected_refs').selectAll().where('project_id', '=', project.id);
    if (kind) query = query.where('kind', '=', kind);
    return query.orderBy('kind').orderBy('name').execute();
  }

  async protect(project: ProjectRow, kind: RefKind, rawName: unknown, allowForcePush?: unknown): Promise<CiProtectedRefRow> {
    await this.applyDefaults(project);
    const name = validatePattern(kind, rawName);
    const force = forcePushParam(kind, allowForcePush) ?? false;
    const taken = await this.find(project, kind, name);
    if (taken) throw conflict(`The ${kind} ${name} is already protected in ${project.name}.`);
    const row: CiProtectedRefRow = { id: newId(), project_id: project.id, kind, name, allow_force_push: force ? 1 : 0, created_at: now() };
    await this.db.insertInto('ci_protected_refs').values(row).execute();
    return row;
  }

  /** Changes a protected branch's settings (`allow_force_push`). */
  async update(project: ProjectRow, kind: RefKind, name: string, allowForcePush: unknown): Promise<CiProtectedRefRow> {
    const row = await this.get(project, kind, name);
    const force = forcePushParam(kind, allowForcePush);
    if (force === undefined) return row;
    await this.db.updateTable('ci_protected_refs').set({ allow_force_push: force ? 1 : 0 }).where('id', '=', row.id).execute();
    return { ...row, allow_force_push: force ? 1 : 0 };
  }

  /** What pushes may do to the project's refs (see push-rules.ts). */
  async pushRules(project: ProjectRow): Promise<PushRules> {
    const rows = await this.list(project);
    return {
      project: project.name,
      branches: rows.filter((r) => r.kind === 'branch').map((r) => ({ name: r.name, allowForcePush: r.allow_force_push === 1 })),
      tags: rows.filter((r) => r.kind === 'tag').map((r) => r.name),
    };
  }

  async unprotect(project: ProjectRow, kind: RefKind, name: string): Promise<CiProtectedRefRow> {
    await this.applyDefaults(project);
    const row = await this.find(project, kind, name);
    if (!row) throw notFound(`protected_${kind}`, `The ${kind} ${name} is not protected in ${project.name} (see: slipway ci:protected -p ${project.name}).`);
    await this.db.deleteFrom('ci_protected_refs').where('id', '=', row.id).execute();
    return row;
  }

  async get(project: ProjectRow, kind: RefKind, name: string): Promise<CiProtectedRefRow> {
    await this.applyDefaults(project);
    const row = await this.find(project, kind, name);
    if (!row) throw notFound(`protected_${kind}`, `The ${kind} ${name} is not protected in ${project.name}.`);
    return row;
  }

  /** Whether a branch (or tag) is protected: some protected name or wildcard matches it. */
  async isProtected(project: ProjectRow, kind: RefKind, ref: string): Promise<boolean> {
    const rows = await this.list(project, kind);
    return rows.some((r) => wildcardMatches(r.name, ref));
  }

  private find(project: ProjectRow, kind: RefKind, name: string): Promise<CiProtectedRefRow | undefined> {
    return this.db.selectFrom('ci_protected_refs').selectAll().where('project_id', '=', project.id).where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
  }

  private async applyDefaults(project: ProjectRow): Promise<void> {
    const done = await this.db.selectFrom('ci_settings').select('project_id').where('project_id', '=', project.id).executeTakeFirst();
    if (done) return;
    const branch = await this.defaultBranch(project);
    const stamp = now();
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('ci_settings').values({ project_id: project.id, defaults_applied_at: stamp }).execute();
        await tx.insertInto('ci_protected_refs').values({ id: newId(), project_id: project.id, kind: 'branch', name: branch, allow_force_push: 0, created_at: stamp }).execute();
      });
    } catch (err) {
      // Another request applied them at the same moment.
      if (!/unique|duplicate|constraint/i.test(String(err))) throw err;
    }
  }
}

function forcePushParam(kind: RefKind, raw: unknown): boolean | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'boolean') throw invalidParams('allow_force_push must be true or false.');
  if (kind === 'tag' && raw) throw invalidParams('Protected tags never move: allow_force_push applies to protected branches only.');
  return raw;
}

function validatePattern(kind: RefKind, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') throw invalidParams(`Which ${kind}? Give a name or a wildcard pattern, e.g. ${kind === 'branch' ? 'main or release/*' : 'v*'}.`);
  const name = raw.replace(kind === 'branch' ? /^refs\/heads\// : /^refs\/tags\//, '');
  if (!PATTERN.test(name) || name.endsWith('.lock')) throw invalidParams(`${JSON.stringify(raw)} is not a valid ${kind} name or pattern.`);
  return name;
}
