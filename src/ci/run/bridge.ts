// Trigger jobs at run time, for `ci run` and the server alike: the variables a bridge passes
// down, its child pipeline loaded and planned as a new top-level configuration, and the
// bridge's own result from the child pipeline's status.
import { formatCiError, loadPipeline, planPipeline, type LoadOptions } from '../index.js';
import type { Plan, PlannedJob } from '../plan/plan.js';
import { childContext, MAX_CHILD_DEPTH, type ChildTrigger, type Trigger } from '../plan/trigger.js';
import type { Hash, PipelineContext } from '../types.js';
import { expandString } from '../variables/expand.js';
import type { JobResult, PipelineStatus } from './contract.js';
import { literalNames } from './variables.js';

export interface ForwardSources {
  job: PlannedJob;
  config: Hash;
  trigger: Trigger;
  /** The bridge's whole variable set (what a script job would get). */
  variables: Record<string, string>;
  /** The parent pipeline's own pipeline variables (`--variable`, API, trigger…), and those kept as written. */
  pipelineVariables?: Record<string, string>;
  literalPipelineVariables?: readonly string[];
  /** dotenv variables the bridge receives from the jobs it depends on. */
  dotenv?: Record<string, string>;
}

/**
 * The child's pipeline variables, as GitLab's downstream variables: the bridge's YAML variables
 * (its own and the global ones it inherits) unless `forward:yaml_variables: false`, then with
 * `forward:pipeline_variables: true` its dotenv and the parent's pipeline variables; a later
 * source wins. Values are expanded once against the bridge's variables (unknown names become
 * empty, as GitLab's ExpandVariables.expand does), except YAML variables with `expand: false`.
 */
export function forwardedVariables(s: ForwardSources): Forwarded {
  const expand = (value: string) => expandString(value, (name) => s.variables[name] ?? '');
  const variables: Record<string, string> = {};
  const literal = new Set<string>();
  const put = (name: string, value: string, raw: boolean) => {
    variables[name] = raw ? value : expand(value);
    if (raw) literal.add(name);
    else literal.delete(name);
  };
  if (s.trigger.forward.yamlVariables) {
    const raw = literalNames(s.job, s.config);
    for (const [name, value] of Object.entries(s.job.variables)) put(name, value, raw.has(name));
  }
  if (s.trigger.forward.pipelineVariables) {
    const raw = new Set(s.literalPipelineVariables ?? []);
    for (const [name, value] of Object.entries(s.dotenv ?? {})) put(name, value, false);
    for (const [name, value] of Object.entries(s.pipelineVariables ?? {})) put(name, value, raw.has(name));
  }
  return { variables, literal: [...literal] };
}

/** The child's pipeline variables, and the names among them that stay as written (`expand: false`). */
export interface Forwarded {
  variables: Record<string, string>;
  literal: string[];
}

export interface ChildPlan {
  plan: Plan;
  config: Hash;
  context: PipelineContext;
  files: string[];
}

export type ChildOutcome = { ok: true; child: ChildPlan } | { ok: false; result: JobResult; errors: string[] };

const creationFailed = (message: string, errors: string[] = []): ChildOutcome => ({ ok: false, result: { status: 'failed', failureReason: 'downstream_pipeline_creation_failed', message }, errors });

/** Why a bridge cannot run here at all (before anything is loaded), or undefined. */
export function bridgeRefusal(trigger: Trigger, depth: number): JobResult | undefined {
  if (trigger.kind === 'project') return { status: 'failed', failureReason: 'invalid_bridge_trigger', message: `multi-project pipelines (trigger:project ${trigger.project}) are not supported by Slipway` };
  if (depth >= MAX_CHILD_DEPTH) return { status: 'failed', failureReason: 'reached_max_descendant_pipelines_depth', message: `reached the maximum depth of child pipelines: a child pipeline ${MAX_CHILD_DEPTH} levels down cannot trigger another` };
  return undefined;
}

/**
 * Loads and plans the child pipeline of a bridge, in the parent's context with the forwarded
 * variables. A configuration that does not load or plan, or that makes no pipeline, fails the
 * bridge (GitLab's downstream_pipeline_creation_failed), with every problem as `file:line`.
 */
export async function planChild(trigger: ChildTrigger, job: PlannedJob, parent: PipelineContext, forwarded: Forwarded, load: Omit<LoadOptions, 'context' | 'trigger' | 'entry'>): Promise<ChildOutcome> {
  const context = childContext(parent, forwarded.variables, forwarded.literal);
  const loaded = await loadPipeline({ ...load, context, trigger: { include: trigger.include, at: job.at } });
  const problems = (errors: typeof loaded.errors) => {
    const lines = errors.map(formatCiError);
    return creationFailed(`the child pipeline could not be created: ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more)` : ''}`, lines);
  };
  if (loaded.errors.length) return problems(loaded.errors);
  const plan = planPipeline(loaded, context);
  if (plan.errors.length) return problems(plan.errors);
  if (!plan.created) return creationFailed(`the child pipeline was not created: ${plan.reason ?? 'no jobs'}`);
  return { ok: true, child: { plan, config: loaded.config ?? {}, context, files: loaded.files } };
}

/** `strategy: depend`: the bridge ends as its child pipeline did (GitLab: skipped counts as failed). */
export function dependentResult(status: PipelineStatus | 'running' | 'skipped'): JobResult | undefined {
  switch (status) {
    case 'success':
      return { status: 'success' };
    case 'failed':
    case 'skipped':
      return { status: 'failed', message: 'the child pipeline failed' };
    case 'canceled':
      return { status: 'canceled', message: 'the child pipeline was canceled' };
    case 'blocked':
      return { status: 'waiting', message: 'waiting for the child pipeline, which waits for a manual job' };
    default:
      return undefined;
  }
}
