// ci:schedules, ci:schedules:create, ci:schedules:update, ci:schedules:delete, ci:schedules:run
// — GitLab's pipeline schedules on a server-mode CI project.
import { pairFlags, str, type CommandSpec, type Flags } from '../args.js';
import { client } from '../app-resolution.js';
import { enc } from '../client.js';
import { CliError, colour, heading, keyValues, out, printJson, table, timeAndAgo } from '../output.js';
import { JSON_FLAG, numberArg, PROJECT_FLAG, projectOf, statusText } from './projects.js';

interface Schedule {
  id: number;
  description: string;
  ref: string;
  cron: string;
  cron_timezone: string;
  active: boolean;
  next_run_at: string | null;
  owner?: { email?: string };
  variables: { key: string; value: string }[];
  inputs: Record<string, unknown> | null;
  last_pipeline: { id: number; status: string; web_url: string } | null;
  last_error: string | null;
}

const SCHEDULE_FLAGS = {
  cron: { type: 'string', description: 'when it runs: five cron fields (minute hour day month weekday) or @daily, @hourly…', valueName: 'CRON' },
  ref: { type: 'string', description: "the branch or tag (default: the project's default branch)", valueName: 'REF' },
  description: { type: 'string', short: 'd', description: 'what the schedule is for', valueName: 'TEXT' },
  timezone: { type: 'string', description: 'the time zone the cron line is read in (default: UTC)', valueName: 'ZONE' },
  variable: { type: 'string', multiple: true, description: 'a pipeline variable of every run (replaces the list)', valueName: 'KEY=VALUE' },
  input: { type: 'string', multiple: true, description: 'an input for the spec:inputs header of .gitlab-ci.yml (replaces the list)', valueName: 'NAME=VALUE' },
  active: { type: 'boolean', description: 'run it (the default when created)' },
  inactive: { type: 'boolean', description: 'keep it, but do not run it' },
} as const;

/** The request body the flags describe (only what was given). */
function changeOf(flags: Flags): Record<string, unknown> {
  if (flags.active && flags.inactive) throw new CliError('Use either --active or --inactive, not both.');
  const variables = pairFlags(flags, 'variable');
  const inputs = pairFlags(flags, 'input', 'NAME');
  return {
    ...(str(flags.cron) !== undefined ? { cron: str(flags.cron) } : {}),
    ...(str(flags.ref) !== undefined ? { ref: str(flags.ref) } : {}),
    ...(str(flags.description) !== undefined ? { description: str(flags.description) } : {}),
    ...(str(flags.timezone) !== undefined ? { cron_timezone: str(flags.timezone) } : {}),
    ...(Object.keys(variables).length ? { variables: Object.entries(variables).map(([key, value]) => ({ key, value })) } : {}),
    ...(Object.keys(inputs).length ? { inputs } : {}),
    ...(flags.active ? { active: true } : flags.inactive ? { active: false } : {}),
  };
}

function show(s: Schedule): void {
  heading(`Pipeline schedule ${s.id}${s.description ? `: ${s.description}` : ''}`);
  keyValues([
    ['Cron', `${s.cron} (${s.cron_timezone})`],
    ['Ref', s.ref],
    ['Active', s.active ? 'yes' : 'no'],
    ['Next run', s.next_run_at ? timeAndAgo(s.next_run_at) : 'never (inactive)'],
    ['Owner', s.owner?.email ?? ''],
    ['Variables', s.variables.map((v) => v.key).join(', ') || 'none'],
    ['Inputs', s.inputs ? Object.entries(s.inputs).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : 'none'],
    ['Last pipeline', s.last_pipeline ? `#${s.last_pipeline.id} ${statusText(s.last_pipeline.status)}` : 'none yet'],
  ]);
  if (s.last_error) out(colour.red(s.last_error));
}

const path = (flags: Flags, id?: string) => `/projects/${enc(projectOf(flags))}/pipeline_schedules${id === undefined ? '' : `/${numberArg(id, 'schedule')}`}`;

export const ciScheduleCommands: CommandSpec[] = [
  {
    name: 'ci:schedules',
    summary: "list a project's pipeline schedules, or show one",
    usage: '[SCHEDULE]',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 1,
    examples: ['slipway ci:schedules -p shop', 'slipway ci:schedules 1 -p shop'],
    async run({ flags, args }) {
      if (args.length) {
        const one = await client().get<Schedule>(path(flags, args[0]));
        return flags.json ? printJson(one) : show(one);
      }
      const all = await client().get<Schedule[]>(path(flags));
      if (flags.json) return printJson(all);
      if (all.length === 0) return out(`${projectOf(flags)} has no pipeline schedules. Add one with: slipway ci:schedules:create -p ${projectOf(flags)} --cron "0 3 * * *"`);
      heading(`${projectOf(flags)} pipeline schedules`);
      table(all.map((s) => [String(s.id), s.description, `${s.cron} (${s.cron_timezone})`, s.ref, s.active ? (s.next_run_at ? `next ${timeAndAgo(s.next_run_at)}` : '') : 'inactive', s.last_pipeline ? `#${s.last_pipeline.id} ${statusText(s.last_pipeline.status)}` : '']));
    },
  },
  {
    name: 'ci:schedules:create',
    summary: "run a branch's pipeline on a schedule (cron), with variables and inputs",
    description: `Pipelines it starts have CI_PIPELINE_SOURCE=schedule and run as you, on the ref's
commit at that time. A run missed while Slipway was down happens once when it is back.`,
    flags: { ...PROJECT_FLAG, ...SCHEDULE_FLAGS, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:schedules:create -p shop --cron "0 3 * * *" -d nightly', 'slipway ci:schedules:create -p shop --cron "30 6 * * 1-5" --timezone Europe/Paris --ref main --variable SUITE=full'],
    async run({ flags }) {
      if (str(flags.cron) === undefined) throw new CliError('When should it run? Pass --cron, e.g. --cron "0 3 * * *" (every day at 03:00 UTC).');
      const created = await client().post<Schedule>(path(flags), changeOf(flags));
      if (flags.json) return printJson(created);
      out(`Created pipeline schedule ${created.id}: ${created.cron} (${created.cron_timezone}) on ${created.ref}${created.next_run_at ? `, next run ${timeAndAgo(created.next_run_at)}` : ' (inactive)'}`);
    },
  },
  {
    name: 'ci:schedules:update',
    summary: 'change a pipeline schedule (cron, ref, time zone, variables, inputs, active)',
    usage: 'SCHEDULE',
    flags: { ...PROJECT_FLAG, ...SCHEDULE_FLAGS, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:schedules:update 1 -p shop --inactive', 'slipway ci:schedules:update 1 -p shop --cron @hourly --active'],
    async run({ flags, args }) {
      const change = changeOf(flags);
      if (Object.keys(change).length === 0) throw new CliError('Nothing to change: pass --cron, --ref, -d, --timezone, --variable, --input, --active or --inactive.');
      const updated = await client().put<Schedule>(path(flags, args[0]), change);
      return flags.json ? printJson(updated) : show(updated);
    },
  },
  {
    name: 'ci:schedules:delete',
    summary: 'delete a pipeline schedule (its pipelines stay)',
    usage: 'SCHEDULE',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:schedules:delete 1 -p shop'],
    async run({ flags, args }) {
      const deleted = await client().delete<Schedule>(path(flags, args[0]));
      if (flags.json) return printJson(deleted);
      out(`Deleted pipeline schedule ${deleted.id}${deleted.description ? ` (${deleted.description})` : ''}.`);
    },
  },
  {
    name: 'ci:schedules:run',
    aliases: ['ci:schedules:play'],
    summary: 'run a pipeline schedule now, as you (its timed runs stay as they are)',
    usage: 'SCHEDULE',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:schedules:run 1 -p shop'],
    async run({ flags, args }) {
      const played = await client().post<{ pipeline: { id: number; status: string; web_url: string }; messages: string[] }>(`${path(flags, args[0])}/play`, {});
      if (flags.json) return printJson(played);
      for (const line of played.messages) out(line);
      out(`Follow it with: slipway ci:pipeline ${played.pipeline.id} -p ${projectOf(flags)}`);
    },
  },
];
