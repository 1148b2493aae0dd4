// Decides whether a job (or the pipeline) is created: `rules` (first match wins; a rule
// matches when all of if/changes/exists hold), `only`/`except` (refs, variables, changes)
// with the implicit `only: [branches, tags]`, and `workflow:rules`.
import { globMatch, hasGlobMagic } from '../glob.js';
import { expandString } from '../variables/expand.js';
import { isHash, type Hash, type PipelineContext } from '../types.js';
import { evaluateExpression } from './expression.js';
import { compileRe2, parseRegexLiteral } from './regex.js';

export interface RuleMatch {
  rule: Hash;
}

/** Variables as rules see them: raw values (never expanded), undefined when absent. */
export type Lookup = (name: string) => string | undefined;

/** The first matching rule, or undefined when none matches (the job is left out). */
export function firstMatchingRule(rules: unknown[], lookup: Lookup, ctx: PipelineContext): Hash | undefined {
  for (const rule of rules) {
    if (!isHash(rule)) continue;
    if (rule.if !== undefined && rule.if !== null && !evaluateExpression(String(rule.if), lookup)) continue;
    if (rule.changes !== undefined && rule.changes !== null && !changesMatch(rule.changes, lookup, ctx)) continue;
    if (rule.exists !== undefined && rule.exists !== null && !existsMatch(rule.exists, lookup, ctx)) continue;
    return rule;
  }
  return undefined;
}

const expandPath = (path: string, lookup: Lookup) => expandString(path, lookup);

/** `changes: [globs]` or `{paths, compare_to}`: true if any changed file matches any glob. */
export function changesMatch(spec: unknown, lookup: Lookup, ctx: PipelineContext): boolean {
  const paths = Array.isArray(spec) ? spec : isHash(spec) && Array.isArray(spec.paths) ? spec.paths : [];
  const compareTo = isHash(spec) && typeof spec.compare_to === 'string' ? expandPath(spec.compare_to, lookup) : undefined;
  const changed = ctx.changes ? ctx.changes(compareTo) : null;
  if (changed === null) return true; // nothing to compare with: GitLab counts it as changed
  const globs = paths.map((p) => expandPath(String(p), lookup).replace(/^\.?\//, ''));
  return changed.some((file) => globs.some((g) => g === file || globMatch(g, file)));
}

/** `exists: [globs]` or `{paths}`: true if any repository file matches. */
export function existsMatch(spec: unknown, lookup: Lookup, ctx: PipelineContext): boolean {
  const paths = Array.isArray(spec) ? spec : isHash(spec) && Array.isArray(spec.paths) ? spec.paths : [];
  const files = ctx.repositoryFiles ?? [];
  const fileSet = new Set(files);
  return paths.some((p) => {
    const glob = expandPath(String(p), lookup).replace(/^\.?\//, '');
    return hasGlobMagic(glob) ? files.some((f) => globMatch(glob, f)) : fileSet.has(glob);
  });
}

const REF_KEYWORDS: Record<string, (ctx: PipelineContext) => boolean> = {
  branches: (c) => c.branch !== undefined && c.tag === undefined && c.source !== 'merge_request_event',
  tags: (c) => c.tag !== undefined && c.source !== 'merge_request_event',
  api: (c) => c.source === 'api',
  chat: (c) => c.source === 'chat',
  external: (c) => c.source === 'external',
  external_pull_requests: (c) => c.source === 'external_pull_request_event',
  merge_requests: (c) => c.source === 'merge_request_event',
  pipelines: (c) => c.source === 'pipeline' || c.source === 'parent_pipeline',
  pushes: (c) => c.source === 'push',
  schedules: (c) => c.source === 'schedule',
  triggers: (c) => c.source === 'trigger',
  web: (c) => c.source === 'web',
};

/**
 * One `refs` entry. GitLab splits it at the first `@`: what follows is a project path that
 * must be the pipeline's (`main@acme/shop`, `branches@acme/shop`); a literal `@` inside a
 * regex has to be written `\x40`.
 */
function refMatches(entry: string, ctx: PipelineContext): boolean {
  const at = entry.indexOf('@');
  if (at >= 0 && entry.slice(at + 1) !== ctx.projectPath) return false;
  const pattern = at >= 0 ? entry.slice(0, at) : entry;
  const keyword = REF_KEYWORDS[pattern];
  if (keyword) return keyword(ctx);
  if (ctx.source === 'merge_request_event') return false;
  const ref = ctx.tag ?? ctx.branch;
  if (ref === undefined) return false;
  const literal = parseRegexLiteral(pattern);
  if (literal) {
    try {
      return compileRe2(literal.source, literal.flags).test(ref);
    } catch {
      return false;
    }
  }
  return pattern === ref;
}

interface Filter {
  refs?: string[];
  variables?: string[];
  changes?: unknown;
  kubernetes?: unknown;
}

function readFilter(value: unknown): Filter | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { refs: [value] };
  if (Array.isArray(value)) return { refs: value.map(String) };
  if (!isHash(value)) return undefined;
  return {
    refs: Array.isArray(value.refs) ? value.refs.map(String) : undefined,
    variables: Array.isArray(value.variables) ? value.variables.map(String) : undefined,
    changes: value.changes,
    kubernetes: value.kubernetes,
  };
}

/** Which keys of a filter have at least one match. */
function filterHits(filter: Filter, lookup: Lookup, ctx: PipelineContext): boolean[] {
  const hits: boolean[] = [];
  if (filter.refs) hits.push(filter.refs.some((r) => refMatches(r, ctx)));
  if (filter.variables) hits.push(filter.variables.some((e) => evaluateExpression(e, lookup)));
  if (filter.changes !== undefined) {
    // Outside branch, MR and external-PR pipelines only/except:changes always match.
    const diffable = ctx.source === 'merge_request_event' || ctx.source === 'external_pull_request_event' || ctx.branch !== undefined;
    hits.push(!diffable || changesMatch(filter.changes, lookup, ctx));
  }
  if (filter.kubernetes !== undefined) hits.push(false);
  return hits;
}

/**
 * only/except: included iff every `only` key matches and no `except` key does. A job without
 * `only` gets `only: [branches, tags]`, except when `workflow:rules` is defined: GitLab then
 * drops that default (so such a job is also in merge-request pipelines).
 */
export function onlyExceptAllows(job: Hash, lookup: Lookup, ctx: PipelineContext, workflowRules = false): boolean {
  const only = readFilter(job.only) ?? (workflowRules ? undefined : { refs: ['branches', 'tags'] });
  const except = readFilter(job.except);
  if (only && !filterHits(only, lookup, ctx).every(Boolean)) return false;
  return !(except && filterHits(except, lookup, ctx).some(Boolean));
}

export interface WorkflowDecision {
  created: boolean;
  /** Variables set by the matching workflow rule (they act as global defaults). */
  variables: Hash;
  reason?: string;
}

/** Whether `workflow:rules` is defined (GitLab's `workflow_entry.has_rules?`). */
export const hasWorkflowRules = (workflow: unknown): boolean => isHash(workflow) && workflow.rules !== undefined;

export function evaluateWorkflow(workflow: unknown, lookup: Lookup, ctx: PipelineContext): WorkflowDecision {
  const rules = isHash(workflow) && Array.isArray(workflow.rules) ? workflow.rules : undefined;
  if (!rules) return { created: true, variables: {} };
  const rule = firstMatchingRule(rules, lookup, ctx);
  if (!rule) return { created: false, variables: {}, reason: 'no workflow:rules entry matched' };
  if (rule.when === 'never') return { created: false, variables: {}, reason: 'a workflow:rules entry with when: never matched' };
  return { created: true, variables: isHash(rule.variables) ? rule.variables : {} };
}
