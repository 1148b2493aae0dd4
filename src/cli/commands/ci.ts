// ci lint, ci list: the CI engine on the working tree, without a server. The engine does the
// work; this file only gathers the pipeline context from git and prints the results.
import { execFileSync } from 'node:child_process';
import { basename, resolve } from 'node:path';
import {
  directoryFiles,
  formatCiError,
  loadPipeline,
  planPipeline,
  readTrigger,
  type CiError,
  type PipelineContext,
  type PlannedJob,
} from '../../ci/index.js';
import { pairFlags, str, type CommandSpec, type Flags } from '../args.js';
import { CliError, err, out, printJson, table } from '../output.js';
import { workTreeInfo, type WorkTreeInfo } from './ci-git.js';

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 }).trim();
  } catch {
    return undefined;
  }
}

/** `git@host:group/project.git` or `https://host/group/project.git` → `group/project`. */
function projectPathFromRemote(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const m = /^(?:[\w+.-]+:\/\/[^/]+\/|[^@\s]+@[^:\s]+:)(.+?)(?:\.git)?\/?$/.exec(url);
  return m ? m[1] : undefined;
}

function contextFromFlags(cwd: string, flags: Flags, repo: WorkTreeInfo | undefined): PipelineContext {
  const branchFlag = str(flags.branch);
  const tagFlag = str(flags.tag);
  if (branchFlag && tagFlag) throw new CliError('Use either --branch or --tag, not both.');
  const branch = tagFlag ? undefined : (branchFlag ?? repo?.branch);
  const sha = str(flags.sha) ?? repo?.sha ?? '0'.repeat(40);
  const variables = pairFlags(flags, 'variable');
  const source = str(flags.source) ?? 'push';
  const ctx: PipelineContext = {
    source,
    ...(tagFlag ? { tag: tagFlag } : branch ? { branch } : {}),
    sha,
    defaultBranch: repo?.originHead ?? 'main',
    projectPath: projectPathFromRemote(repo?.originUrl) ?? `local/${basename(cwd)}`,
    variables,
  };
  if (repo) {
    if (repo.sha) Object.assign(ctx, { commitTimestamp: repo.commitTimestamp, commitAuthor: repo.commitAuthor, commitMessage: repo.commitMessage });
    // rules:changes compares with compare_to when given; otherwise there is no push to
    // compare with, and GitLab treats the changes as matched.
    ctx.changes = (compareTo) => {
      if (!compareTo) return null;
      const diff = git(cwd, ['diff', '--name-only', `${compareTo}...HEAD`]);
      return diff === undefined ? null : diff.split('\n').filter(Boolean);
    };
  }
  if (source === 'merge_request_event') {
    if (!branch) throw new CliError('A merge_request_event pipeline needs a source branch: pass --branch.');
    ctx.mergeRequest = { iid: 1, sourceBranch: branch, targetBranch: ctx.defaultBranch };
  }
  return ctx;
}

async function load(flags: Flags, forRun = false) {
  const cwd = resolve(str(flags.cwd) ?? process.cwd());
  // In a work tree the pipeline sees what git would push: tracked and untracked-not-ignored files.
  const repo = await workTreeInfo(cwd);
  const files = directoryFiles(cwd, repo ? async () => repo.files : undefined);
  const ctx = contextFromFlags(cwd, flags, repo);
  ctx.repositoryFiles = await files.list();
  const entry = str(flags.file) ?? '.gitlab-ci.yml';
  const given = pairFlags(flags, 'input', 'NAME');
  const inputs = Object.keys(given).length ? { inputs: given } : {};
  // ci run remembers configurations that passed the JSON schema (see loadPipelineCached).
  const loaded = forRun
    ? await (await import('../../ci/run/local.js')).loadPipelineCached({ files, entry, context: ctx, ...inputs, stateDir: (await import('../../ci/run/local.js')).ciStateDir(cwd) })
    : await loadPipeline({ files, entry, context: ctx, ...inputs });
  return { cwd, ctx, loaded, entry, files };
}

function reportErrors(errors: CiError[], json: boolean): number {
  if (json) printJson({ valid: false, errors });
  for (const e of errors) err(formatCiError(e));
  return 1;
}

const listRow = (j: PlannedJob) => ({
  name: j.name,
  stage: j.stage,
  when: j.when,
  allow_failure: j.allowFailureExitCodes ? { exit_codes: j.allowFailureExitCodes } : j.allowFailure,
  needs: j.needs ? j.needs.map((n) => n.job) : null,
  ...triggerField(j),
});

/** Trigger jobs only: what they trigger (`{include: [...]}` or `{project}`) and their strategy. */
function triggerField(j: PlannedJob) {
  const t = readTrigger(j.config);
  if (!t) return {};
  return { trigger: { ...(t.kind === 'child' ? { include: t.include } : { project: t.project }), strategy: t.strategy ?? null } };
}

const COMMON_FLAGS = {
  cwd: { type: 'string', description: 'the project directory (default: the current directory)', valueName: 'DIR' },
  file: { type: 'string', description: 'the pipeline file, relative to DIR (default: .gitlab-ci.yml)', valueName: 'FILE' },
  json: { type: 'boolean', description: 'print JSON' },
  variable: { type: 'string', multiple: true, description: 'a pipeline variable', valueName: 'KEY=VALUE' },
  input: { type: 'string', multiple: true, description: "an input for the pipeline file's spec:inputs header (text is read as the input's type)", valueName: 'NAME=VALUE' },
  branch: { type: 'string', description: 'plan for this branch (default: the checked-out branch)', valueName: 'BRANCH' },
  tag: { type: 'string', description: 'plan a tag pipeline for this tag', valueName: 'TAG' },
  sha: { type: 'string', description: 'the commit SHA (default: HEAD)', valueName: 'SHA' },
  source: { type: 'string', description: 'CI_PIPELINE_SOURCE: push, merge_request_event, web, schedule, api, trigger… (default: push)', valueName: 'SOURCE' },
} as const;

const RUN_FLAGS = {
  manual: { type: 'string', multiple: true, description: 'ci run: play this manual job', valueName: 'JOB' },
  'masked-variable': { type: 'string', multiple: true, description: 'ci run: a pipeline variable masked in job logs', valueName: 'KEY=VALUE' },
  concurrency: { type: 'string', description: 'ci run: jobs run at once (default: the number of CPUs)', valueName: 'N' },
  'no-sandbox': { type: 'boolean', description: 'ci run: plain processes instead of bubblewrap sandboxes' },
  shell: { type: 'boolean', description: 'ci run: run jobs that set image: on the shell executor anyway' },
  keep: { type: 'boolean', description: 'ci run: keep job directories and artifacts (the path is printed)' },
} as const;

export const ciCommands: CommandSpec[] = [
  {
    name: 'ci',
    summary: 'check and plan the .gitlab-ci.yml pipeline of a working tree',
    usage: 'lint|list|run [JOB…] [--cwd DIR] [--json]',
    description: `Runs Slipway's CI engine locally, without a server.
  ci lint   validates the pipeline (YAML, includes, GitLab's schema, stages, needs,
            extends) and the child pipelines' files that trigger:include names; prints
            file:line: reason for each problem and exits 1 if any.
  ci list   prints the jobs the pipeline would create after workflow:rules, rules,
            only/except and parallel expansion ({name, stage, when, allow_failure, needs};
            trigger jobs also have trigger: {include | project, strategy}).
  ci run    runs the pipeline (or the named jobs and what they need) on this machine:
            each job in a fresh copy of the work tree, sandboxed with bubblewrap when
            available; trigger:include jobs run their child pipelines (jobs shown as
            "trigger » job"); exits 1 if a job that may not fail failed. See docs/ci.md.`,
    examples: ['slipway ci run', 'slipway ci run test --variable DEBUG=1', 'slipway ci run --input environment=staging --input replicas=3', 'slipway ci run --manual deploy --json', 'slipway ci lint', 'slipway ci list --json --cwd ../web', 'slipway ci list --json --tag v1.2.0', 'slipway ci list --source merge_request_event --branch feature/x'],
    flags: { ...COMMON_FLAGS, ...RUN_FLAGS },
    minArgs: 1,
    async run({ args, flags }) {
      const json = flags.json === true;
      const sub = args[0];
      if (sub !== 'lint' && sub !== 'list' && sub !== 'run') throw new CliError(`Unknown ci command ${JSON.stringify(sub)}. Use: slipway ci lint | slipway ci list | slipway ci run`);
      if (sub !== 'run' && args.length > 1) throw new CliError(`ci ${sub} takes no job names (got ${args.slice(1).join(' ')})`);
      // ci run: probe bubblewrap (it starts a sandbox) while git and the configuration load.
      if (sub === 'run' && flags['no-sandbox'] !== true) void import('../../ci/run/shell-executor.js').then((m) => m.bwrapWorks());
      // …and compile the runner while git answers.
      if (sub === 'run') void import('./ci-run.js');
      const { cwd, ctx, loaded, entry, files } = await load(flags, sub === 'run');
      if (loaded.errors.length) return reportErrors(loaded.errors, json);
      if (sub === 'run') return (await import('./ci-run.js')).ciRun({ cwd, flags, jobs: args.slice(1), ctx, loaded, entry });
      if (sub === 'lint') {
        // Child pipelines' files too (GitLab would find their problems only when they run).
        const children = await (await import('../../ci/load/child-configs.js')).lintChildPipelines(loaded, files, ctx);
        const childErrors = children.flatMap((c) => c.errors);
        if (childErrors.length) return reportErrors(childErrors, json);
        const childList = children.map((c) => ({ job: c.job, files: c.files }));
        if (json) printJson({ valid: true, errors: [], files: loaded.files, jobs: loaded.jobs.length, children: childList });
        else {
          const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
          out(`${loaded.files[0]} is valid (${count(loaded.jobs.length, 'job')}, ${count(loaded.files.length, 'file')}${children.length ? `, ${count(children.length, 'child pipeline')}` : ''}).`);
        }
        return 0;
      }
      const plan = planPipeline(loaded, ctx);
      if (plan.errors.length) return reportErrors(plan.errors, json);
      if (!plan.created && plan.reason) err(`No pipeline would be created: ${plan.reason}.`);
      if (json) printJson(plan.jobs.map(listRow));
      else table(plan.jobs.map((j) => { const r = listRow(j); return [r.name, r.stage, r.when, JSON.stringify(r.allow_failure), r.needs ? r.needs.join(', ') : '']; }), ['name', 'stage', 'when', 'allow_failure', 'needs']);
      return 0;
    },
  },
];
