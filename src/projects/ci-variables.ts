/**
 * A project's CI/CD variables, as GitLab keeps them: a key per environment scope, a value,
 * `masked` (hidden in job logs and listings; the value must be maskable), `protected` (only
 * for pipelines on protected refs), `raw` (never expanded) and `variable_type` (`env_var`, or
 * `file`: the job sees the path of a file holding the value). Values are stored as given and
 * never put in an error message.
 */
import type { Kysely } from 'kysely';
import type { CiVariableRow, Database, ProjectRow } from '../store/schema.js';
import { newId, now } from '../core/ids.js';
import { conflict, invalidParams, notFound } from '../core/errors.js';
import { scopeMatches, scopeSpecificity } from './environment-scope.js';

const KEY = /^[A-Za-z0-9_]{1,255}$/;
/** GitLab's maskable alphabet: Base64 (RFC 4648, both flavours) plus `@ : . ~`. */
const MASKABLE_CHAR = /[A-Za-z0-9+/=_@:.~-]/;
export const MIN_MASKED_LENGTH = 8;
const MAX_VALUE_BYTES = 64 * 1024;
const TYPES = new Set(['env_var', 'file']);
const SCOPE = /^[A-Za-z0-9 _/${}.*-]{1,255}$/;

export interface VariableInput {
  key?: unknown;
  value?: unknown;
  masked?: unknown;
  protected?: unknown;
  raw?: unknown;
  variable_type?: unknown;
  environment_scope?: unknown;
  description?: unknown;
}

/** Why a value cannot be masked, in GitLab's words; undefined when it can. */
export function maskingProblem(value: string): string | undefined {
  const problems: string[] = [];
  const bad = [...new Set([...value].filter((c) => !MASKABLE_CHAR.test(c)))];
  if (bad.length) {
    const shown = bad.map((c) => (/\s/.test(c) ? 'whitespace characters' : c));
    problems.push(`This value cannot be masked because it contains the following characters: ${[...new Set(shown)].join(', ')}.`);
    problems.push('A masked value may only use letters, digits and the characters + / = _ @ : . ~ - (no spaces or newlines).');
  }
  if (value.length < MIN_MASKED_LENGTH) problems.push(`The value must have at least ${MIN_MASKED_LENGTH} characters.`);
  return problems.length ? problems.join(' ') : undefined;
}

const flag = (v: unknown, name: string, fallback: boolean): boolean => {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalidParams(`${name} must be true or false.`);
};

export function validateScope(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') return '*';
  if (typeof raw !== 'string' || !SCOPE.test(raw)) {
    throw invalidParams(`environment_scope ${JSON.stringify(raw)} is not valid: use * (every environment), a name like production, or a pattern like review/*.`);
  }
  return raw;
}

export class CiVariableService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(project: ProjectRow): Promise<CiVariableRow[]> {
    return this.db.selectFrom('ci_variables').selectAll().where('project_id', '=', project.id).orderBy('key').orderBy('environment_scope').execute();
  }

  /** One variable; with several scopes for the key, `scope` picks one (else a 409 says to). */
  async get(project: ProjectRow, key: string, scope?: string): Promise<CiVariableRow> {
    let query = this.db.selectFrom('ci_variables').selectAll().where('project_id', '=', project.id).where('key', '=', key);
    if (scope !== undefined) query = query.where('environment_scope', '=', validateScope(scope));
    const rows = await query.execute();
    if (rows.length === 0) throw notFound('variable', `The project ${project.name} has no variable ${key}${scope !== undefined ? ` for environment scope ${scope}` : ''}.`);
    if (rows.length > 1) {
      throw conflict(`${key} is set for several environment scopes (${rows.map((r) => r.environment_scope).join(', ')}); pass filter[environment_scope] (CLI: --env) to pick one.`);
    }
    return rows[0];
  }

  /** Creates a variable; a 409 when the key already exists for that environment scope. */
  async create(project: ProjectRow, input: VariableInput): Promise<CiVariableRow> {
    const row = this.validate(project, input);
    const taken = await this.db.selectFrom('ci_variables').select('id').where('project_id', '=', project.id).where('key', '=', row.key).where('environment_scope', '=', row.environment_scope).executeTakeFirst();
    if (taken) throw conflict(`${row.key} already exists for environment scope ${row.environment_scope}; change it with PUT (CLI: ci:vars:set replaces it).`);
    await this.db.insertInto('ci_variables').values(row).execute();
    return row;
  }

  /** Creates or replaces the variable with this key and environment scope. */
  async set(project: ProjectRow, input: VariableInput): Promise<{ row: CiVariableRow; created: boolean }> {
    const row = this.validate(project, input);
    const existing = await this.db
      .selectFrom('ci_variables')
      .selectAll()
      .where('project_id', '=', project.id)
      .where('key', '=', row.key)
      .where('environment_scope', '=', row.environment_scope)
      .executeTakeFirst();
    if (existing) {
      const patch = { ...row, id: existing.id, created_at: existing.created_at };
      await this.db.updateTable('ci_variables').set(patch).where('id', '=', existing.id).execute();
      return { row: patch, created: false };
    }
    await this.db.insertInto('ci_variables').values(row).execute();
    return { row, created: true };
  }

  /** Changes some attributes of an existing variable (GitLab's PUT). */
  async update(project: ProjectRow, key: string, scope: string | undefined, input: VariableInput): Promise<CiVariableRow> {
    const current = await this.get(project, key, scope);
    const merged: VariableInput = {
      key,
      value: input.value ?? current.value,
      masked: input.masked ?? current.masked === 1,
      protected: input.protected ?? current.protected === 1,
      raw: input.raw ?? current.raw === 1,
      variable_type: input.variable_type ?? current.variable_type,
      environment_scope: input.environment_scope ?? current.environment_scope,
      description: input.description !== undefined ? input.description : current.description,
    };
    const row = { ...this.validate(project, merged), id: current.id, created_at: current.created_at };
    if (row.environment_scope !== current.environment_scope) {
      const clash = await this.db.selectFrom('ci_variables').select('id').where('project_id', '=', project.id).where('key', '=', key).where('environment_scope', '=', row.environment_scope).executeTakeFirst();
      if (clash) throw conflict(`${key} already exists for environment scope ${row.environment_scope}.`);
    }
    await this.db.updateTable('ci_variables').set(row).where('id', '=', current.id).execute();
    return row;
  }

  async remove(project: ProjectRow, key: string, scope?: string): Promise<CiVariableRow> {
    const row = await this.get(project, key, scope);
    await this.db.deleteFrom('ci_variables').where('id', '=', row.id).execute();
    return row;
  }

  /**
   * The variables a job sees: unprotected ones, plus protected ones on protected refs; of
   * those, the ones whose scope matches the job's environment (only `*` without one), the
   * most specific scope winning per key.
   */
  async forJob(projectId: string, options: { refProtected: boolean; environment?: string }): Promise<CiVariableRow[]> {
    let query = this.db.selectFrom('ci_variables').selectAll().where('project_id', '=', projectId);
    if (!options.refProtected) query = query.where('protected', '=', 0);
    const rows = await query.execute();
    const env = options.environment;
    const applicable = rows.filter((r) => (env === undefined ? r.environment_scope === '*' : scopeMatches(r.environment_scope, env)));
    applicable.sort((a, b) => scopeSpecificity(a.environment_scope, env) - scopeSpecificity(b.environment_scope, env));
    const byKey = new Map<string, CiVariableRow>();
    for (const row of applicable) byKey.set(row.key, row);
    return [...byKey.values()];
  }

  private validate(project: ProjectRow, input: VariableInput): CiVariableRow {
    const key = input.key;
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw invalidParams(`The variable key ${JSON.stringify(key ?? '')} is not valid: use letters, digits and _ only (at most 255 characters).`);
    }
    const value = input.value === undefined || input.value === null ? undefined : input.value;
    if (typeof value !== 'string') throw invalidParams(`${key} needs a string value.`);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw invalidParams(`The value of ${key} is over ${MAX_VALUE_BYTES / 1024} KB.`);
    const variableType = input.variable_type ?? 'env_var';
    if (typeof variableType !== 'string' || !TYPES.has(variableType)) throw invalidParams(`variable_type must be env_var or file, got ${JSON.stringify(variableType)}.`);
    const masked = flag(input.masked, 'masked', false);
    if (masked) {
      const problem = maskingProblem(value);
      if (problem) throw invalidParams(`${key} cannot be masked: ${problem}`);
    }
    const description = input.description;
    if (description !== undefined && description !== null && typeof description !== 'string') throw invalidParams('description must be a string.');
    const stamp = now();
    return {
      id: newId(),
      project_id: project.id,
      key,
      value,
      variable_type: variableType,
      masked: masked ? 1 : 0,
      protected: flag(input.protected, 'protected', false) ? 1 : 0,
      raw: flag(input.raw, 'raw', false) ? 1 : 0,
      environment_scope: validateScope(input.environment_scope),
      description: (description as string | null | undefined) ?? null,
      created_at: stamp,
      updated_at: stamp,
    };
  }
}
