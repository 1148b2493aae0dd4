// Trigger jobs (GitLab's "bridges"): what a job's `trigger:` asks for, read into one shape.
// A bridge runs no script: it creates a downstream pipeline, a child pipeline of the same
// project from `trigger:include`, or a multi-project pipeline from `trigger:project`.
import { isHash, type Hash, type PipelineContext } from '../types.js';

/** GitLab's MAX_NESTED_CHILDREN: a child may have children, theirs may not. */
export const MAX_CHILD_DEPTH = 2;

/** What `trigger:forward` passes down (GitLab's defaults: YAML variables yes, pipeline variables no). */
export interface TriggerForward {
  yamlVariables: boolean;
  pipelineVariables: boolean;
}

interface TriggerCommon {
  /** `depend` (and `mirror`): the bridge's status follows the downstream pipeline's. */
  strategy?: 'depend' | 'mirror';
  forward: TriggerForward;
}

export interface ChildTrigger extends TriggerCommon {
  kind: 'child';
  /** `trigger:include` entries, read like `include:` entries (plus `artifact` + `job`). */
  include: unknown[];
}

export interface ProjectTrigger extends TriggerCommon {
  kind: 'project';
  project: string;
  branch?: string;
}

export type Trigger = ChildTrigger | ProjectTrigger;

/** The job's trigger, or undefined for a job that runs a script. */
export function readTrigger(config: Hash): Trigger | undefined {
  const raw = config.trigger;
  if (typeof raw === 'string') return { kind: 'project', project: raw, forward: readForward(undefined) };
  if (!isHash(raw)) return undefined;
  const common: TriggerCommon = { forward: readForward(raw.forward) };
  if (raw.strategy === 'depend' || raw.strategy === 'mirror') common.strategy = raw.strategy;
  if (raw.include !== undefined && raw.include !== null) return { kind: 'child', include: Array.isArray(raw.include) ? raw.include : [raw.include], ...common };
  return { kind: 'project', project: String(raw.project ?? ''), ...(typeof raw.branch === 'string' ? { branch: raw.branch } : {}), ...common };
}

function readForward(value: unknown): TriggerForward {
  const forward = isHash(value) ? value : {};
  return { yamlVariables: forward.yaml_variables !== false, pipelineVariables: forward.pipeline_variables === true };
}

export const isBridge = (config: Hash): boolean => config.trigger !== undefined && config.trigger !== null;

/** Whether the bridge waits for the downstream pipeline and takes its status. */
export const followsDownstream = (trigger: Trigger): boolean => trigger.strategy !== undefined;

/** `trigger:include` entries that only name files of this repository (what `ci lint` can read). */
export function localIncludes(trigger: ChildTrigger): boolean {
  return trigger.include.every((e) => (typeof e === 'string' && !/^https?:\/\//.test(e)) || (isHash(e) && typeof e.local === 'string'));
}

/**
 * A child pipeline's context: the parent's commit, ref and project, CI_PIPELINE_SOURCE
 * `parent_pipeline`, and the forwarded variables as its pipeline variables (the highest
 * precedence in the child, as GitLab's downstream variables are).
 */
export function childContext(parent: PipelineContext, variables: Record<string, string>, literal: readonly string[] = []): PipelineContext {
  const { pipelineIid: _iid, literalVariables: _literal, ...rest } = parent;
  // The child of a merge request pipeline runs for the merge request, not for a branch.
  if (rest.mergeRequest) delete rest.branch;
  return { ...rest, source: 'parent_pipeline', variables, ...(literal.length ? { literalVariables: literal } : {}) };
}
