// ci:triggers, ci:triggers:create, ci:triggers:delete — pipeline trigger tokens of a
// server-mode CI project (outside systems run pipelines with a token, no API key).
import { str, type CommandSpec } from '../args.js';
import { client } from '../app-resolution.js';
import { enc } from '../client.js';
import { heading, out, printJson, table, timeAndAgo } from '../output.js';
import { JSON_FLAG, numberArg, PROJECT_FLAG, projectOf } from './projects.js';

interface TriggerToken {
  id: number;
  description: string;
  token: string | null;
  token_hint: string;
  owner?: { email?: string };
  last_used: string | null;
  created_at: string;
}

export const ciTriggerCommands: CommandSpec[] = [
  {
    name: 'ci:triggers',
    summary: "list a project's pipeline trigger tokens (their values are shown only when made)",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:triggers -p shop'],
    async run({ flags }) {
      const project = projectOf(flags);
      const tokens = await client().get<TriggerToken[]>(`/projects/${enc(project)}/triggers`);
      if (flags.json) return printJson(tokens);
      if (tokens.length === 0) return out(`${project} has no trigger tokens. Make one with: slipway ci:triggers:create -p ${project}`);
      heading(`${project} trigger tokens`);
      table(tokens.map((t) => [String(t.id), t.description, t.token_hint, t.owner?.email ?? '', t.last_used ? `used ${timeAndAgo(t.last_used)}` : 'never used']));
    },
  },
  {
    name: 'ci:triggers:create',
    summary: 'make a pipeline trigger token: POST it with a ref to run a pipeline (CI_PIPELINE_SOURCE=trigger)',
    flags: { ...PROJECT_FLAG, description: { type: 'string', short: 'd', description: 'what the token is for', valueName: 'TEXT' }, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:triggers:create -p shop -d "docs site rebuild"'],
    async run({ flags }) {
      const project = projectOf(flags);
      const api = client();
      const made = await api.post<TriggerToken & { token: string }>(`/projects/${enc(project)}/triggers`, { ...(str(flags.description) !== undefined ? { description: str(flags.description) } : {}) });
      if (flags.json) return printJson(made);
      out(`Created trigger token ${made.id} for ${project}. It is shown only now; keep it secret:`);
      out(made.token);
      out('Run a pipeline with it (pipelines run as you):');
      out(`  curl -X POST -F token=TOKEN -F ref=main -F "variables[KEY]=value" ${api.url}/projects/${project}/trigger/pipeline`);
    },
  },
  {
    name: 'ci:triggers:delete',
    summary: 'delete a pipeline trigger token (it stops working at once)',
    usage: 'TOKEN_ID',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:triggers:delete 2 -p shop'],
    async run({ flags, args }) {
      const deleted = await client().delete<TriggerToken>(`/projects/${enc(projectOf(flags))}/triggers/${numberArg(args[0], 'trigger token')}`);
      if (flags.json) return printJson(deleted);
      out(`Deleted trigger token ${deleted.id}${deleted.description ? ` (${deleted.description})` : ''}.`);
    },
  },
];
