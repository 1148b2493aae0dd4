// reviewapps:enable, reviewapps:disable, reviewapps:list, reviewapps:create, reviewapps:destroy
import { str, type CommandSpec, type Flags } from '../args.js';
import { client } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, colour, heading, out, printJson, table, timeAndAgo } from '../output.js';

interface ReviewApp {
  id: string;
  app: { id: string; name: string } | null;
  branch: string;
  pr_number: number | null;
  status: string;
  message: string | null;
  updated_at: string;
}

interface ReviewAppConfig {
  automatic_review_apps: boolean;
  destroy_stale_apps: boolean;
  destroy_after_idle: string;
  wait_for_ci: boolean;
  project: { name: string } | null;
}

const jsonFlag = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };
const pipelineFlag = { pipeline: { type: 'string' as const, short: 'p', description: 'the pipeline', valueName: 'PIPELINE' } };

async function pipelineOf(api: ApiClient, args: string[], flags: Flags, usage: string): Promise<{ id: string; name: string }> {
  const name = args[0] ?? str(flags.pipeline);
  if (!name) throw new CliError(`Name the pipeline.\nUsage: slipway ${usage}`);
  return api.get(`/pipelines/${enc(name)}`);
}

function describe(c: ReviewAppConfig): string {
  const parts = [c.automatic_review_apps ? 'created for every pushed branch and opened merge request' : 'created on request (reviewapps:create)'];
  if (c.wait_for_ci) parts.push('after CI passes');
  if (c.destroy_stale_apps) parts.push(`destroyed after ${c.destroy_after_idle} without a deploy`);
  return parts.join(', ');
}

const statusText = (s: string) => (s === 'created' ? colour.green(s) : s === 'errored' ? colour.red(s) : colour.yellow(s));

export const reviewAppsCommands: CommandSpec[] = [
  {
    name: 'reviewapps:enable',
    summary: 'enable review apps on a pipeline connected to a CI project',
    usage: '[PIPELINE]',
    flags: {
      ...pipelineFlag,
      autodeploy: { type: 'boolean', description: 'create review apps by themselves for pushed branches and opened merge requests' },
      autodestroy: { type: 'boolean', description: 'destroy review apps that were not deployed for a while (--stale-days, default 5)' },
      'stale-days': { type: 'string', description: 'days without a deploy before --autodestroy destroys a review app', valueName: 'N' },
      'destroy-after-idle': { type: 'string', description: 'like --stale-days, as a duration: 45s, 30m, 12h, 5d', valueName: 'DURATION' },
      'wait-for-ci': { type: 'boolean', description: 'create and update review apps only once CI passed' },
      ...jsonFlag,
    },
    maxArgs: 1,
    description: 'Review apps are made from app.json environments.review and coupled at the review stage; merging or closing the merge request, or deleting the branch, destroys them.',
    examples: ['slipway reviewapps:enable shop --autodeploy --autodestroy', 'slipway reviewapps:enable shop --autodeploy --destroy-after-idle 30m'],
    async run({ flags, args }) {
      const api = client();
      const pipeline = await pipelineOf(api, args, flags, 'reviewapps:enable PIPELINE [--autodeploy] [--autodestroy]');
      const body: Record<string, unknown> = {};
      if (flags.autodeploy) body.automatic_review_apps = true;
      if (flags.autodestroy) body.destroy_stale_apps = true;
      if (flags['wait-for-ci']) body.wait_for_ci = true;
      const days = str(flags['stale-days']);
      if (days !== undefined) {
        if (!/^\d+$/.test(days)) throw new CliError('--stale-days must be a whole number of days.');
        body.stale_days = Number(days);
        body.destroy_stale_apps = true;
      }
      const idle = str(flags['destroy-after-idle']);
      if (idle !== undefined) body.destroy_after_idle = idle;
      const config = (await api.request<ReviewAppConfig>('POST', `/pipelines/${pipeline.id}/review-app-config`, { body })).body;
      if (flags.json) return printJson(config);
      out(`Review apps enabled on ${pipeline.name} (project ${config.project?.name ?? '?'}): ${describe(config)}.`);
    },
  },
  {
    name: 'reviewapps:disable',
    summary: 'disable review apps on a pipeline (existing review apps stay until destroyed)',
    usage: '[PIPELINE]',
    flags: pipelineFlag,
    maxArgs: 1,
    examples: ['slipway reviewapps:disable shop'],
    async run({ flags, args }) {
      const api = client();
      const pipeline = await pipelineOf(api, args, flags, 'reviewapps:disable PIPELINE');
      await api.delete(`/pipelines/${pipeline.id}/review-app-config`);
      out(`Review apps disabled on ${pipeline.name}.`);
    },
  },
  {
    name: 'reviewapps:list',
    aliases: ['reviewapps'],
    summary: "list a pipeline's review apps with their branch, merge request, status and URL",
    usage: '[PIPELINE]',
    flags: { ...pipelineFlag, ...jsonFlag },
    maxArgs: 1,
    examples: ['slipway reviewapps:list shop', 'slipway reviewapps:list shop --json'],
    async run({ flags, args }) {
      const api = client();
      const pipeline = await pipelineOf(api, args, flags, 'reviewapps:list PIPELINE');
      const list = await api.list<ReviewApp>(`/pipelines/${pipeline.id}/review-apps`);
      const withUrls = await Promise.all(
        list.map(async (r) => {
          const app = r.app && r.status === 'created' ? await api.get<{ web_url: string }>(`/apps/${r.app.id}`).catch(() => null) : null;
          return { ...r, web_url: app?.web_url ?? null };
        }),
      );
      if (flags.json) return printJson(withUrls);
      if (withUrls.length === 0) return out(`${pipeline.name} has no review apps.`);
      heading(`${pipeline.name} review apps`);
      table(
        withUrls.map((r) => [r.app?.name ?? '', r.branch, r.pr_number ? `!${r.pr_number}` : '', statusText(r.status), r.web_url ?? '', timeAndAgo(r.updated_at), r.message ?? '']),
        ['app', 'branch', 'MR', 'status', 'url', 'updated', 'message'],
      );
    },
  },
  {
    name: 'reviewapps:create',
    summary: 'create a review app for a branch of the connected project (its current tip)',
    usage: '[PIPELINE]',
    flags: { ...pipelineFlag, branch: { type: 'string', short: 'b', description: 'the branch', valueName: 'BRANCH' }, ...jsonFlag },
    maxArgs: 1,
    examples: ['slipway reviewapps:create shop --branch feature-x'],
    async run({ flags, args }) {
      const api = client();
      const pipeline = await pipelineOf(api, args, flags, 'reviewapps:create PIPELINE --branch BRANCH');
      const branch = str(flags.branch);
      if (!branch) throw new CliError('--branch is required.');
      const created = (await api.request<ReviewApp>('POST', '/review-apps', { body: { pipeline: pipeline.id, branch, source_blob: { url: 'resolve', version: null } } })).body;
      if (flags.json) return printJson(created);
      out(`Creating the review app for ${branch} (${created.id}); follow it with: slipway reviewapps:list ${pipeline.name}`);
    },
  },
  {
    name: 'reviewapps:destroy',
    summary: 'destroy a review app (by its app name or review app id)',
    usage: 'APP_OR_ID',
    flags: pipelineFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway reviewapps:destroy shop-pr-3'],
    async run({ args }) {
      const api = client();
      const id = /^[0-9a-f-]{36}$/.test(args[0]) ? args[0] : (await api.get<ReviewApp>(`/apps/${enc(args[0])}/review-app`)).id;
      const row = await api.delete<ReviewApp>(`/review-apps/${id}`);
      out(`Destroying ${row.app?.name ?? 'the review app'} (${row.branch}).`);
    },
  },
];
