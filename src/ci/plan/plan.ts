// From resolved jobs and a pipeline context to the list of jobs GitLab would create, in its
// order: workflow:rules, per-job rules or only/except, parallel expansion, when and the two
// manual allow_failure defaults, and needs/dependencies pointed at the created jobs.
import type { JobDefinition } from '../resolve/jobs.js';
import { evaluateWorkflow, firstMatchingRule, hasWorkflowRules, onlyExceptAllows } from '../rules/evaluate.js';
import { isHash, type CiError, type Hash, type PipelineContext, type SourceLocation } from '../types.js';
import { readVariables } from '../variables/expand.js';
import { predefinedVariables, slugify } from '../variables/predefined.js';
import { jobStage, readNeeds, stageList, type NeedEntry } from '../validate/semantic.js';
import { expandParallel, matrixCombinations, matrixJobName } from './parallel.js';

export type When = 'on_success' | 'on_failure' | 'always' | 'manual' | 'delayed';

export interface PlannedNeed {
  job: string;
  artifacts: boolean;
  optional: boolean;
}

export interface PlannedJob {
  name: string;
  /** The job as written, before parallel expansion. */
  baseName: string;
  stage: string;
  stageIndex: number;
  when: When;
  allowFailure: boolean;
  /** With `allow_failure: {exit_codes}`: failure is allowed only for these codes. */
  allowFailureExitCodes?: number[];
  startIn?: string;
  /** null: the job waits for earlier stages; a list (maybe empty): it waits for these only. */
  needs: PlannedNeed[] | null;
  /** null: artifacts from every earlier stage; a list: only these jobs'. */
  dependencies: string[] | null;
  /** Job-level YAML variables after inheritance, rules:variables and matrix values (raw). */
  variables: Record<string, string>;
  matrix?: Record<string, string>;
  nodeIndex?: number;
  nodeTotal: number;
  interruptible?: boolean;
  config: Hash;
  at: SourceLocation;
}

export interface Plan {
  created: boolean;
  reason?: string;
  stages: string[];
  jobs: PlannedJob[];
  errors: CiError[];
  /** Global YAML variables after workflow:rules:variables (raw values). */
  globalVariables: Record<string, string>;
}

const raw = (hash: unknown): Record<string, string> => Object.fromEntries(Object.entries(readVariables(hash)).map(([k, d]) => [k, d.value]));

export function planJobs(jobs: JobDefinition[], config: Hash, ctx: PipelineContext): Plan {
  const stages = stageList(config);
  const stageIndex = new Map(stages.map((s, i) => [s, i]));
  const predefined = predefinedVariables(ctx);
  const outer = { ...ctx.projectVariables, ...ctx.variables };
  const yamlGlobals = raw(config.variables);
  const globalLookup = (name: string) => outer[name] ?? yamlGlobals[name] ?? predefined[name];
  const workflow = evaluateWorkflow(config.workflow, globalLookup, ctx);
  const globalVariables = { ...yamlGlobals, ...raw(workflow.variables) };
  if (!workflow.created) return { created: false, reason: workflow.reason, stages: [], jobs: [], errors: [], globalVariables };

  const workflowRules = hasWorkflowRules(config.workflow);
  const errors: CiError[] = [];
  const planned: Array<PlannedJob & { needSpecs: NeedEntry[] | undefined; order: number }> = [];
  let order = 0;
  for (const def of jobs) {
    const c = def.config;
    const stage = jobStage(c);
    const inherited = inheritedGlobals(c, globalVariables);
    const jobVars = raw(c.variables);
    for (const instance of expandParallel(def.name, c.parallel)) {
      const own: Record<string, string> = { ...inherited, ...jobVars, ...instance.matrix };
      const jobPredefined: Record<string, string> = { ...predefined, CI_JOB_NAME: instance.name, CI_JOB_NAME_SLUG: slugify(instance.name), CI_JOB_GROUP_NAME: def.name, CI_JOB_STAGE: stage, CI_NODE_TOTAL: String(instance.nodeTotal) };
      if (instance.nodeIndex !== undefined) jobPredefined.CI_NODE_INDEX = String(instance.nodeIndex);
      const lookup = (name: string) => outer[name] ?? own[name] ?? jobPredefined[name];

      let rule: Hash | undefined;
      if (Array.isArray(c.rules)) {
        rule = firstMatchingRule(c.rules, lookup, ctx);
        if (!rule) continue;
      } else if (!onlyExceptAllows(c, lookup, ctx, workflowRules)) continue;

      const when = String(rule?.when ?? c.when ?? 'on_success');
      if (when === 'never') continue;
      const configAllow = c.allow_failure;
      const exitCodes = isHash(configAllow) ? [configAllow.exit_codes].flat().map(Number) : undefined;
      const allowFailure = typeof rule?.allow_failure === 'boolean' ? rule.allow_failure : typeof configAllow === 'boolean' ? configAllow : exitCodes ? false : c.when === 'manual';
      const needSpecs = readNeeds(rule && rule.needs !== undefined ? rule.needs : c.needs);
      const startIn = rule?.start_in ?? c.start_in;
      const interruptible = typeof rule?.interruptible === 'boolean' ? rule.interruptible : typeof c.interruptible === 'boolean' ? c.interruptible : undefined;
      planned.push({
        name: instance.name,
        baseName: def.name,
        stage,
        stageIndex: stageIndex.get(stage) ?? 0,
        when: when as When,
        allowFailure,
        ...(exitCodes && typeof rule?.allow_failure !== 'boolean' ? { allowFailureExitCodes: exitCodes } : {}),
        ...(when === 'delayed' && startIn !== undefined ? { startIn: String(startIn) } : {}),
        needs: null,
        dependencies: null,
        variables: { ...own, ...raw(rule?.variables) },
        ...(instance.matrix ? { matrix: instance.matrix } : {}),
        ...(instance.nodeIndex !== undefined ? { nodeIndex: instance.nodeIndex } : {}),
        nodeTotal: instance.nodeTotal,
        ...(interruptible !== undefined ? { interruptible } : {}),
        config: c,
        at: def.at,
        needSpecs,
        order: order++,
      });
    }
  }

  // Names of created jobs per written job, for needs/dependencies on parallel jobs.
  const instancesOf = new Map<string, string[]>();
  const byName = new Map<string, (typeof planned)[number]>();
  for (const job of planned) {
    const list = instancesOf.get(job.baseName);
    if (list) list.push(job.name);
    else instancesOf.set(job.baseName, [job.name]);
    byName.set(job.name, job);
  }
  const definitions = new Map(jobs.map((j) => [j.name, j]));
  const targets = (name: string): string[] => instancesOf.get(name) ?? (byName.has(name) ? [name] : []);

  for (const job of planned) {
    const needsAt = definitions.get(job.baseName)?.keyAt('needs') ?? job.at;
    if (job.needSpecs) {
      const needs: PlannedNeed[] = [];
      for (const need of job.needSpecs) {
        if (need.external) continue;
        let names = targets(need.job);
        if (isHash(need.parallel) && Array.isArray(need.parallel.matrix)) {
          const wanted = new Set(matrixCombinations(need.parallel.matrix).map((combo) => matrixJobName(need.job, combo)));
          names = names.filter((n) => wanted.has(n));
        }
        if (names.length === 0) {
          if (!need.optional) {
            const reason = definitions.has(need.job) ? 'was not added to the pipeline' : 'does not exist';
            errors.push({ ...needsAt, message: `'${job.name}' job needs '${need.job}' job, but '${need.job}' ${reason}` });
          }
          continue;
        }
        for (const name of names) {
          const target = byName.get(name);
          if (target && target.stageIndex > job.stageIndex) {
            errors.push({ ...needsAt, message: `'${job.name}' job needs '${need.job}' job, but '${need.job}' is in a later stage (${target.stage})` });
            break;
          }
          needs.push({ job: name, artifacts: need.artifacts, optional: need.optional });
        }
      }
      job.needs = needs;
    }
    if (Array.isArray(job.config.dependencies)) job.dependencies = job.config.dependencies.flatMap((d) => targets(String(d)));
  }

  planned.sort((a, b) => a.stageIndex - b.stageIndex || a.order - b.order);
  const used = new Set(planned.map((j) => j.stage));
  const usedStages = stages.filter((s) => used.has(s));
  if (planned.length > 0 && planned.every((j) => j.stage === '.pre' || j.stage === '.post')) {
    return { created: false, reason: 'the pipeline would contain only .pre and .post jobs', stages: [], jobs: [], errors, globalVariables };
  }
  const result = planned.map(({ needSpecs: _n, order: _o, ...job }) => job);
  return { created: result.length > 0, ...(result.length ? {} : { reason: 'no job matched its rules' }), stages: usedStages, jobs: result, errors, globalVariables };
}

function inheritedGlobals(job: Hash, globals: Record<string, string>): Record<string, string> {
  const inherit = isHash(job.inherit) ? job.inherit.variables : undefined;
  if (inherit === false) return {};
  if (Array.isArray(inherit)) return Object.fromEntries(Object.entries(globals).filter(([k]) => inherit.includes(k)));
  return globals;
}

