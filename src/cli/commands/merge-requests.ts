// mr:create, mr:list, mr:show, mr:merge, mr:close, mr:reopen — merge requests on CI projects.
import { str, type CommandSpec, type Flags } from '../args.js';
import { client } from '../app-resolution.js';
import { enc } from '../client.js';
import { CliError, colour, heading, keyValues, out, printJson, table, timeAndAgo } from '../output.js';
import { statusText } from './projects.js';

interface PipelineRef {
  id: number;
  status: string;
  sha: string;
  source: string;
  web_url: string;
}

interface MergeRequest {
  id: number;
  iid: number;
  title: string;
  description: string;
  state: string;
  draft: boolean;
  labels: string[];
  source_branch: string;
  target_branch: string;
  sha: string;
  merge_commit_sha: string | null;
  author: { email: string };
  merged_by: { email: string } | null;
  closed_by: { email: string } | null;
  merged_at: string | null;
  closed_at: string | null;
  created_at: string;
  web_url: string;
  head_pipeline: PipelineRef | null;
  review_app: { name?: string; url?: string | null } | null;
  messages?: string[];
}

const PROJECT_FLAG = { project: { type: 'string' as const, short: 'p', description: 'the CI project', valueName: 'PROJECT' } };
const JSON_FLAG = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };

function projectOf(flags: Flags): string {
  const project = str(flags.project) ?? process.env.SLIPWAY_PROJECT;
  if (!project) throw new CliError('Which project? Pass -p PROJECT (see: slipway projects).');
  return project;
}

function iidArg(arg: string | undefined): number {
  const m = /^!?(\d+)$/.exec(arg?.trim() ?? '');
  if (!m || Number(m[1]) < 1) throw new CliError(`${JSON.stringify(arg)} is not a merge request number; use e.g. 3 or !3 (see: slipway mr:list -p PROJECT).`);
  return Number(m[1]);
}

const path = (flags: Flags, iid?: number, action = '') => `/projects/${enc(projectOf(flags))}/merge_requests${iid === undefined ? '' : `/${iid}`}${action}`;

const stateText = (state: string) => (state === 'merged' ? colour.blue(state) : state === 'closed' ? colour.red(state) : colour.green(state));
const pipelineText = (p: PipelineRef | null) => (p ? `#${p.id} ${statusText(p.status)}` : '');

/** What a change said (pipelines started, warnings), then the merge request in one line. */
function report(mr: MergeRequest, verb: string): void {
  for (const line of mr.messages ?? []) out(line);
  out(`${verb} !${mr.iid} ${mr.source_branch} → ${mr.target_branch}: ${mr.title}`);
  out(mr.web_url);
}

function show(project: string, mr: MergeRequest): void {
  heading(`${project} !${mr.iid} ${mr.title}`);
  const rows: Array<[string, string]> = [
    ['State', stateText(mr.state) + (mr.draft ? ' (draft)' : '')],
    ['Branches', `${mr.source_branch} → ${mr.target_branch}`],
    ['Head', mr.sha],
    ['Author', mr.author.email],
    ['Created', timeAndAgo(mr.created_at)],
  ];
  if (mr.labels.length) rows.push(['Labels', mr.labels.join(', ')]);
  if (mr.merged_by) rows.push(['Merged', `${timeAndAgo(mr.merged_at)} by ${mr.merged_by.email}`]);
  if (mr.merge_commit_sha) rows.push(['Merge commit', mr.merge_commit_sha]);
  if (mr.closed_by) rows.push(['Closed', `${timeAndAgo(mr.closed_at)} by ${mr.closed_by.email}`]);
  rows.push(['Pipeline', mr.head_pipeline ? `${pipelineText(mr.head_pipeline)} (${mr.head_pipeline.source}) ${mr.head_pipeline.web_url}` : 'none']);
  if (mr.review_app) rows.push(['Review app', [mr.review_app.name, mr.review_app.url].filter(Boolean).join(' ')]);
  rows.push(['URL', mr.web_url]);
  keyValues(rows);
  if (mr.description) {
    out();
    out(mr.description);
  }
}

/** A one-IID command that POSTs to an action of the merge request. */
function action(name: 'mr:close' | 'mr:reopen', summary: string, verb: string): CommandSpec {
  return {
    name,
    summary,
    usage: 'IID',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: [`slipway ${name} 3 -p shop`],
    async run({ flags, args }) {
      const mr = await client().post<MergeRequest>(path(flags, iidArg(args[0]), name === 'mr:close' ? '/close' : '/reopen'));
      if (flags.json) return printJson(mr);
      report(mr, verb);
    },
  };
}

export const mergeRequestCommands: CommandSpec[] = [
  {
    name: 'mr:create',
    summary: 'open a merge request from a source branch into a target branch',
    flags: {
      ...PROJECT_FLAG,
      source: { type: 'string', short: 's', description: 'the branch with the changes', valueName: 'BRANCH' },
      target: { type: 'string', short: 't', description: "the branch to merge into (default: the project's default branch)", valueName: 'BRANCH' },
      title: { type: 'string', description: "the title (default: the commit's subject for one commit, else the branch name)", valueName: 'TITLE' },
      description: { type: 'string', short: 'd', description: 'a longer description', valueName: 'TEXT' },
      labels: { type: 'string', description: 'comma-separated labels (CI_MERGE_REQUEST_LABELS)', valueName: 'LABELS' },
      ...JSON_FLAG,
    },
    maxArgs: 0,
    examples: ['slipway mr:create --source feat --target main -p shop', 'slipway mr:create -s fix/login --title "Fix the login page" --labels bug -p shop'],
    async run({ flags }) {
      const source = str(flags.source);
      if (!source) throw new CliError('Which branch? Pass --source BRANCH (the branch with the changes).');
      const body: Record<string, string> = { source_branch: source };
      for (const [flag, key] of [['target', 'target_branch'], ['title', 'title'], ['description', 'description'], ['labels', 'labels']] as const) {
        const value = str(flags[flag]);
        if (value !== undefined) body[key] = value;
      }
      const mr = await client().post<MergeRequest>(path(flags), body);
      if (flags.json) return printJson(mr);
      report(mr, 'Opened');
    },
  },
  {
    name: 'mr:list',
    summary: "list a project's merge requests (open ones unless --state says otherwise)",
    flags: { ...PROJECT_FLAG, state: { type: 'string', description: 'opened (default), merged, closed or all', valueName: 'STATE' }, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway mr:list -p shop', 'slipway mr:list --state all --json -p shop'],
    async run({ flags }) {
      const state = str(flags.state) ?? 'opened';
      if (!['opened', 'merged', 'closed', 'all'].includes(state)) throw new CliError(`--state must be opened, merged, closed or all, not ${JSON.stringify(state)}.`);
      const list = await client().get<MergeRequest[]>(`${path(flags)}?state=${state}`);
      if (flags.json) return printJson(list);
      const project = projectOf(flags);
      if (list.length === 0) return out(`${project} has no ${state === 'all' ? '' : `${state} `}merge requests.`);
      heading(`${project} merge requests${state === 'all' ? '' : ` (${state})`}`);
      table(list.map((mr) => [`!${mr.iid}`, stateText(mr.state), `${mr.source_branch} → ${mr.target_branch}`, mr.title, pipelineText(mr.head_pipeline)]));
    },
  },
  {
    name: 'mr:show',
    summary: 'show a merge request with its latest pipeline and review app',
    usage: 'IID',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway mr:show 3 -p shop'],
    async run({ flags, args }) {
      const mr = await client().get<MergeRequest>(path(flags, iidArg(args[0])));
      if (flags.json) return printJson(mr);
      show(projectOf(flags), mr);
    },
  },
  {
    name: 'mr:merge',
    summary: 'merge a merge request into its target branch (runs the target branch pipeline)',
    usage: 'IID',
    flags: {
      ...PROJECT_FLAG,
      'remove-source-branch': { type: 'boolean', description: 'delete the source branch after the merge' },
      'only-if-pipeline-succeeds': { type: 'boolean', description: 'refuse unless the latest pipeline succeeded' },
      sha: { type: 'string', description: 'merge only if the source branch is still at this commit', valueName: 'SHA' },
      message: { type: 'string', short: 'm', description: 'the merge commit message', valueName: 'TEXT' },
      ...JSON_FLAG,
    },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway mr:merge 3 -p shop', 'slipway mr:merge 3 --remove-source-branch --only-if-pipeline-succeeds -p shop'],
    async run({ flags, args }) {
      const body: Record<string, unknown> = {
        should_remove_source_branch: flags['remove-source-branch'] === true,
        only_allow_merge_if_pipeline_succeeds: flags['only-if-pipeline-succeeds'] === true,
      };
      if (str(flags.sha)) body.sha = str(flags.sha);
      if (str(flags.message)) body.merge_commit_message = str(flags.message);
      const mr = await client().post<MergeRequest>(path(flags, iidArg(args[0]), '/merge'), body);
      if (flags.json) return printJson(mr);
      report(mr, 'Merged');
    },
  },
  action('mr:close', 'close a merge request without merging it', 'Closed'),
  action('mr:reopen', 'reopen a closed merge request (runs its pipeline again)', 'Reopened'),
];
