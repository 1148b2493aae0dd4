// projects, projects:create, projects:remote, ci:pipelines, ci:pipelines:create, ci:pipeline,
// ci:job:log — server-mode CI.
import { pairFlags, str, type CommandSpec, type Flags } from '../args.js';
import { client } from '../app-resolution.js';
import { enc } from '../client.js';
import { projectGitUrl } from '../git.js';
import { CliError, colour, err, heading, keyValues, out, printJson, sleep, table, timeAndAgo } from '../output.js';
import { addProjectRemote, describeRemote, PROJECT_REMOTE, setUpProjectRemote } from '../project-remote.js';
import { streamOutput } from '../stream.js';

interface Project {
  id: string;
  name: string;
  git_url: string;
  owner?: { email?: string };
  created_at: string;
}

export interface Job {
  id: number;
  name: string;
  stage: string;
  status: string;
  allow_failure: boolean;
  failure_reason: string | null;
  failure_message: string | null;
  duration_ms: number | null;
  log_url: string;
  retried?: boolean;
  scheduled_at?: string | null;
  /** Trigger jobs: the child pipeline they made. */
  downstream_pipeline?: { id: number; status: string } | null;
}

export interface Pipeline {
  id: number;
  ref: string;
  tag: boolean;
  sha: string;
  status: string;
  failure_reason: string | null;
  errors: string[];
  web_url: string;
  created_at: string;
  /** Child pipelines: the pipeline and trigger job that made them. */
  parent_pipeline?: { id: number; job: { id: number; name: string } } | null;
  stages?: string[];
  jobs?: Job[];
}

export const PROJECT_FLAG = { project: { type: 'string' as const, short: 'p', description: 'the CI project', valueName: 'PROJECT' } };
export const JSON_FLAG = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };

export function projectOf(flags: Flags): string {
  const project = str(flags.project) ?? process.env.SLIPWAY_PROJECT;
  if (!project) throw new CliError('Which project? Pass -p PROJECT (see: slipway projects).');
  return project;
}

export function numberArg(arg: string | undefined, what: string): number {
  const m = /^#?(\d+)$/.exec(arg?.trim() ?? '');
  if (!m) throw new CliError(`${JSON.stringify(arg)} is not a ${what} number; use e.g. 3 (see: slipway ci:pipelines -p PROJECT).`);
  return Number(m[1]);
}

export const statusText = (status: string): string =>
  status === 'success' ? colour.green(status) : status === 'failed' ? colour.red(status) : status === 'running' || status === 'pending' ? colour.yellow(status) : status;

const parentText = (p: Pipeline): string => (p.parent_pipeline ? `child of #${p.parent_pipeline.id} (job #${p.parent_pipeline.job.id} ${p.parent_pipeline.job.name})` : '');

const seconds = (ms: number | null) => (ms === null ? '' : `${(ms / 1000).toFixed(1)}s`);

const WAITING_JOB = ['created', 'pending', 'waiting_for_resource', 'scheduled'];
const ACTIVE_JOB = [...WAITING_JOB, 'running'];

/** ci:job:log --follow: 0 only when the job passed (an allowed failure passes with a warning, as on GitLab). */
function jobExitCode(job: Job, project: string): number {
  if (job.status === 'success') return 0;
  if (job.status === 'failed' && job.allow_failure) {
    err(`Job #${job.id} (${job.name}) failed, but may fail (allow_failure).`);
    return 0;
  }
  const why = job.failure_reason ? ` (${job.failure_reason})` : '';
  err(job.status === 'manual' ? `Job #${job.id} (${job.name}) is manual: start it with slipway ci:play ${job.id} -p ${project}.` : `Job #${job.id} (${job.name}) ${job.status}${why}.`);
  return 1;
}

export const projectsCommands: CommandSpec[] = [
  {
    name: 'projects',
    aliases: ['projects:list'],
    summary: 'list your CI projects',
    flags: { ...JSON_FLAG },
    maxArgs: 0,
    async run({ flags }) {
      const api = client();
      const projects = await api.get<Project[]>('/projects');
      if (flags.json) return printJson(projects);
      if (projects.length === 0) return out('You have no CI projects. Create one with: slipway projects:create NAME');
      heading('CI projects');
      // The URL on the server the CLI talks to: the one its credential helper answers for.
      table(projects.map((p) => [p.name, projectGitUrl(api.url, p.name), p.owner?.email ?? '']));
    },
  },
  {
    name: 'projects:create',
    summary: 'create a CI project (and a git remote for it when run in a repository)',
    usage: 'NAME',
    flags: {
      remote: { type: 'string', short: 'r', description: `name of the git remote to add (default: ${PROJECT_REMOTE})`, valueName: 'REMOTE' },
      'no-remote': { type: 'boolean', description: 'do not add a git remote' },
      ...JSON_FLAG,
    },
    description: `Pushes to the project's git URL (<server>/<name>.git) run its .gitlab-ci.yml. Inside a
git repository a remote (default "${PROJECT_REMOTE}") pointing at that URL is added, with the
repository-local git credential helper (and, over HTTPS, Slipway's CA) that apps:create sets
up, so \`git push ${PROJECT_REMOTE} main\` works without a password. An existing remote of that
name is left alone (use -r NAME, or projects:remote later).`,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway projects:create shop && git push slipway-ci main', 'slipway projects:create shop --remote ci'],
    async run({ flags, args }) {
      const api = client();
      const project = await api.post<Project>('/projects', { name: args[0] });
      if (flags.json) printJson(project);
      else out(`Created CI project ${project.name}`);
      if (flags['no-remote']) {
        if (!flags.json) out(`Add a git remote for it with: slipway projects:remote -p ${project.name}`);
        return;
      }
      const { note, push } = await describeRemote(await setUpProjectRemote(api, project.name, { remote: str(flags.remote), replace: false }), project.name);
      if (note) err(note);
      if (!flags.json) out(`Push to run pipelines: ${push}`);
    },
  },
  {
    name: 'projects:remote',
    summary: 'add (or update) the git remote of a CI project in this repository',
    usage: '-p PROJECT [-r REMOTE]',
    flags: { ...PROJECT_FLAG, remote: { type: 'string', short: 'r', description: `name of the git remote (default: ${PROJECT_REMOTE})`, valueName: 'REMOTE' } },
    description: `For a fresh clone, or a project made elsewhere: the remote (default "${PROJECT_REMOTE}")
points at <server>/<project>.git, and a repository-local credential helper (and, over HTTPS,
Slipway's CA) is set up for pushes. Same as: slipway git:remote -p PROJECT.`,
    maxArgs: 0,
    examples: ['slipway projects:remote -p shop', 'slipway projects:remote -p shop -r ci'],
    async run({ flags }) {
      return addProjectRemote(client(), projectOf(flags), str(flags.remote));
    },
  },
  {
    name: 'ci:pipelines',
    summary: "list a project's pipelines, newest first",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:pipelines -p shop'],
    async run({ flags }) {
      const project = projectOf(flags);
      const pipelines = await client().get<Pipeline[]>(`/projects/${enc(project)}/pipelines`);
      if (flags.json) return printJson(pipelines);
      if (pipelines.length === 0) return out(`${project} has no pipelines yet: push a commit with a .gitlab-ci.yml.`);
      heading(`${project} pipelines`);
      table(pipelines.map((p) => [`#${p.id}`, statusText(p.status), p.ref, p.sha.slice(0, 8), timeAndAgo(p.created_at), parentText(p)]));
    },
  },
  {
    name: 'ci:pipelines:create',
    aliases: ['ci:pipelines:run'],
    summary: "run a pipeline for a branch or tag's current commit, with variables and inputs",
    description: `GitLab's "Run pipeline": plans .gitlab-ci.yml at the ref's current commit with
CI_PIPELINE_SOURCE=web (--source api for scripts) and runs it. --variable sets pipeline
variables (the highest precedence); --input gives values to the spec:inputs header of
.gitlab-ci.yml (text is read as the input's type).`,
    flags: {
      ...PROJECT_FLAG,
      ref: { type: 'string', description: "the branch or tag (default: the project's default branch)", valueName: 'REF' },
      variable: { type: 'string', multiple: true, description: 'a pipeline variable', valueName: 'KEY=VALUE' },
      input: { type: 'string', multiple: true, description: 'an input for the spec:inputs header of .gitlab-ci.yml', valueName: 'NAME=VALUE' },
      source: { type: 'string', description: 'CI_PIPELINE_SOURCE: web (default) or api', valueName: 'SOURCE' },
      ...JSON_FLAG,
    },
    maxArgs: 0,
    examples: ['slipway ci:pipelines:create -p shop --ref main --variable DEPLOY=1', 'slipway ci:pipelines:create -p shop --input environment=staging --input replicas=2'],
    async run({ flags }) {
      const project = projectOf(flags);
      const body = {
        ...(str(flags.ref) ? { ref: str(flags.ref) } : {}),
        variables: Object.entries(pairFlags(flags, 'variable')).map(([key, value]) => ({ key, value })),
        inputs: pairFlags(flags, 'input', 'NAME'),
        source: str(flags.source) ?? 'web',
      };
      const p = await client().post<Pipeline & { messages: string[] }>(`/projects/${enc(project)}/pipelines`, body);
      if (flags.json) return printJson(p);
      for (const line of p.messages) out(line);
      for (const e of p.errors) out(colour.red(e));
      out(`Follow it with: slipway ci:pipeline ${p.id} -p ${project}`);
      return p.status === 'failed' ? 1 : 0;
    },
  },
  {
    name: 'ci:pipeline',
    summary: "show a pipeline's jobs by stage, with their status",
    usage: 'ID',
    flags: { ...PROJECT_FLAG, retried: { type: 'boolean', description: 'also list earlier attempts of retried jobs' }, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:pipeline 3 -p shop', 'slipway ci:pipeline 3 -p shop --retried'],
    async run({ flags, args }) {
      const project = projectOf(flags);
      const p = await client().get<Pipeline>(`/projects/${enc(project)}/pipelines/${numberArg(args[0], 'pipeline')}${flags.retried ? '?include_retried=true' : ''}`);
      if (flags.json) return printJson(p);
      heading(`${project} pipeline #${p.id}`);
      keyValues([
        ['Status', statusText(p.status) + (p.failure_reason ? ` (${p.failure_reason})` : '')],
        [p.tag ? 'Tag' : 'Branch', p.ref],
        ['Commit', p.sha],
        ['Created', timeAndAgo(p.created_at)],
        ...(p.parent_pipeline ? [['Parent', parentText(p)] as [string, string]] : []),
        ['URL', p.web_url],
      ]);
      for (const e of p.errors) out(colour.red(e));
      for (const stage of p.stages ?? []) {
        out();
        out(colour.bold(stage));
        table((p.jobs ?? []).filter((j) => j.stage === stage).map((j) => [`  #${j.id}`, j.name, statusText(j.status) + (j.retried ? ' (retried)' : ''), j.failure_reason ?? '', seconds(j.duration_ms), j.downstream_pipeline ? `→ child pipeline #${j.downstream_pipeline.id} (${j.downstream_pipeline.status})` : '']));
      }
      return ['failed', 'canceled'].includes(p.status) ? 1 : 0;
    },
  },
  {
    name: 'ci:job:log',
    summary: "print a job's log (with --follow, until the job ends)",
    usage: 'ID',
    flags: { ...PROJECT_FLAG, follow: { type: 'boolean', short: 'f', description: 'wait for the job and stream its log live' } },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:job:log 7 -p shop --follow'],
    async run({ flags, args }) {
      const api = client();
      const project = projectOf(flags);
      const path = `/projects/${enc(project)}/jobs/${numberArg(args[0], 'job')}`;
      let job = await api.get<Job>(path);
      if (!flags.follow) return void (await streamOutput(api, `${path}/log?follow=false`, { retries: 0 }));
      while (WAITING_JOB.includes(job.status)) {
        await sleep(500);
        job = await api.get<Job>(path);
      }
      await streamOutput(api, `${path}/log`, { retries: 0 });
      job = await api.get<Job>(path);
      // The log can end a moment before the job's final status is stored.
      for (let tries = 0; ACTIVE_JOB.includes(job.status) && tries < 100; tries++) {
        await sleep(200);
        job = await api.get<Job>(path);
      }
      return jobExitCode(job, project);
    },
  },
];
