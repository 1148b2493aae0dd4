// `ci lint` for child pipelines: the repository files a trigger job's `trigger:include` names
// are checked as the top-level configurations they become, and so are their own children, down
// to GitLab's depth limit. (GitLab finds these problems only when the trigger job runs; the
// child then fails to be created.) Children made from artifacts or other projects are left
// for run time: their files do not exist yet, or not here.
import { loadPipeline, type LoadedPipeline } from '../index.js';
import { childContext, localIncludes, MAX_CHILD_DEPTH, readTrigger } from '../plan/trigger.js';
import type { CiError, PipelineContext, ProjectFiles } from '../types.js';

export interface ChildLint {
  /** The trigger job (`child`, or `child » grandchild` below a child). */
  job: string;
  files: string[];
  errors: CiError[];
}

export async function lintChildPipelines(loaded: Pick<LoadedPipeline, 'jobs'>, files: ProjectFiles, context: PipelineContext, path: string[] = []): Promise<ChildLint[]> {
  const out: ChildLint[] = [];
  const seen = new Set<string>();
  for (const job of loaded.jobs) {
    const trigger = readTrigger(job.config);
    if (trigger?.kind !== 'child' || !localIncludes(trigger)) continue;
    const key = JSON.stringify(trigger.include);
    if (seen.has(key)) continue;
    seen.add(key);
    const childCtx = childContext(context, {});
    const child = await loadPipeline({ files, context: childCtx, trigger: { include: trigger.include, at: job.at } });
    const name = [...path, job.name].join(' » ');
    out.push({ job: name, files: child.files, errors: child.errors });
    if (child.errors.length === 0 && path.length + 1 < MAX_CHILD_DEPTH) out.push(...(await lintChildPipelines(child, files, childCtx, [...path, job.name])));
  }
  return out;
}
