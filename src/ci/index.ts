// The CI engine's public API, shared by the server and the local runner:
//   loadPipeline   files → merged, validated configuration and resolved jobs (or errors)
//   planPipeline   configuration + pipeline context → the jobs GitLab would create
// Nothing here opens sockets or starts processes; files and remote includes come in through
// the ProjectFiles and RemoteFetcher interfaces.
import { planJobs, type Plan } from './plan/plan.js';
import type { JobDefinition } from './resolve/jobs.js';
import { firstMatchingRule } from './rules/evaluate.js';
import type { ArtifactFileReader, CiError, Hash, PipelineContext, ProjectFileReader, ProjectFiles, RemoteFetcher, SourceLocation } from './types.js';
import { includeVariables } from './variables/predefined.js';

// The loading half (includes, YAML, normalisation, schema, extends, semantic checks) is
// imported when a pipeline is loaded: `ci run` with a remembered pipeline only plans.
const loadingModules = () =>
  Promise.all([
    import('./load/includes.js'),
    import('./load/normalize.js'),
    import('./load/reference.js'),
    import('./load/source-map.js'),
    import('./resolve/jobs.js'),
    import('./validate/schema.js'),
    import('./validate/semantic.js'),
  ]);

export * from './types.js';
export type { Plan, PlannedJob, PlannedNeed, When } from './plan/plan.js';
export type { JobDefinition } from './resolve/jobs.js';
export { readTrigger, isBridge, followsDownstream, childContext, localIncludes, MAX_CHILD_DEPTH, type Trigger, type ChildTrigger, type ProjectTrigger } from './plan/trigger.js';
export { directoryFiles } from './load/directory-files.js';
export { evaluateExpression, parseExpression, ExpressionError } from './rules/expression.js';
export { slugify, predefinedVariables } from './variables/predefined.js';
export { expandString } from './variables/expand.js';

export interface LoadOptions {
  files: ProjectFiles;
  /** The pipeline file, relative to the repository root. */
  entry?: string;
  fetchRemote?: RemoteFetcher;
  /** Reads other projects' files for include:project (server mode). */
  readProjectFile?: ProjectFileReader;
  /** Used for variables in include paths and for include:rules. */
  context?: PipelineContext;
  /** Skip JSON-schema validation (semantic checks still run). */
  skipSchema?: boolean;
  /** A pipeline run's inputs, for the entry file's `spec:inputs` header (text values are read as the declared type). */
  inputs?: Record<string, unknown>;
  /**
   * A child pipeline: instead of `entry`, a new top level made of a trigger job's
   * `trigger:include` entries; `at` is the trigger job (where problems with an entry are shown).
   */
  trigger?: { include: unknown[]; at: SourceLocation };
  /** Reads the files of `trigger:include:artifact` entries. */
  readArtifact?: ArtifactFileReader;
}

export interface LoadedPipeline {
  /** The merged configuration (includes, !reference resolved); undefined if unreadable. */
  config: Hash | undefined;
  /** Visible jobs with extends, default and inherit applied, in definition order. */
  jobs: JobDefinition[];
  /** Every file read, entry first. */
  files: string[];
  errors: CiError[];
}

export const DEFAULT_ENTRY = '.gitlab-ci.yml';

export async function loadPipeline(options: LoadOptions): Promise<LoadedPipeline> {
  const entry = options.trigger ? options.trigger.at.file : (options.entry ?? DEFAULT_ENTRY);
  const [{ IncludeLoader }, { normalizeConfig }, { resolveReferences }, { SourceMap }, { resolveJobs }, { validateSchema }, { checkJobs }] = await loadingModules();
  const sources = new SourceMap();
  const ctx = options.context;
  const includeVars = ctx ? includeVariables(ctx) : {};
  const loader = new IncludeLoader(
    {
      files: options.files,
      fetchRemote: options.fetchRemote,
      readProjectFile: options.readProjectFile,
      readArtifact: options.readArtifact,
      variables: includeVars,
      includeRulesMatch: ctx
        ? (rules) => {
            const rule = firstMatchingRule(rules, (n) => includeVars[n], ctx);
            return rule !== undefined && rule.when !== 'never';
          }
        : undefined,
    },
    sources,
  );
  const config = options.trigger ? await loader.loadTrigger(options.trigger.include, options.trigger.at) : await loader.load(entry, options.inputs);
  const done = (errors: CiError[], jobs: JobDefinition[] = []): LoadedPipeline => ({ config, jobs, files: loader.loadedFiles, errors: sortErrors(errors) });
  if (!config || loader.errors.length) return done(loader.errors);

  const shapeErrors = [...resolveReferences(config), ...normalizeConfig(config, sources)];
  if (shapeErrors.length) return done(shapeErrors);
  const schemaErrors = options.skipSchema ? [] : await validateSchema(config, sources, entry);
  if (schemaErrors.length) return done(schemaErrors);
  const resolved = resolveJobs(config, sources, entry);
  if (resolved.errors.length) return done(resolved.errors);
  const jobErrors = checkJobs(resolved.jobs, config);
  // As GitLab: templates (.name) alone make no pipeline, whatever the rules would say.
  if (resolved.jobs.length === 0) jobErrors.push({ ...(options.trigger?.at ?? { file: entry, line: 0 }), message: `${options.trigger ? "the child pipeline's " : ''}jobs config should contain at least one visible job (names starting with a dot are templates)` });
  return done(jobErrors, jobErrors.length ? [] : resolved.jobs);
}

/** Plans a loaded pipeline for one context. Errors here (e.g. a need on a job that rules left out) mean no pipeline. */
export function planPipeline(loaded: Pick<LoadedPipeline, 'config' | 'jobs'>, context: PipelineContext): Plan {
  const plan = planJobs(loaded.jobs, loaded.config ?? {}, context);
  return { ...plan, errors: sortErrors(plan.errors), ...(plan.errors.length ? { created: false, reason: 'the configuration is invalid for this pipeline', jobs: [] } : {}) };
}

function sortErrors(errors: CiError[]): CiError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.file}:${e.line}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
