// pipelines, pipelines:create, pipelines:add, pipelines:remove, pipelines:info, pipelines:require-approval
import { str, type CommandSpec } from '../args.js';
import { appSession, client } from '../app-resolution.js';
import { ApiError, enc, type ApiClient } from '../client.js';
import { CliError, action, colour, heading, out, printJson, table } from '../output.js';

export const STAGES = ['review', 'development', 'staging', 'production'];

interface Pipeline {
  id: string;
  name: string;
  owner?: { id: string; type: string };
  created_at?: string;
}

interface Coupling {
  id: string;
  app: { id: string; name: string | null };
  pipeline: { id: string; name: string | null };
  stage: string;
}

interface StagePolicy {
  stage: string;
  approval_required: boolean;
  approver: 'any_user' | 'different_user' | null;
}

interface StageApp {
  app: { id: string; name: string };
  current_release: { version: number } | null;
  latest_release: { version: number; status: string } | null;
  commit: { sha: string } | null;
  status: string;
  awaiting_approval: string[];
}

interface Overview {
  pipeline: { id: string; name: string; owner: { email: string | null } };
  stages: Array<{ name: string; approval: StagePolicy | null; apps: StageApp[] }>;
}

const jsonFlag = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };
const stageFlag = { stage: { type: 'string' as const, short: 's', description: `stage of the app: ${STAGES.join(', ')}`, valueName: 'STAGE' } };

/** The --stage value, checked here so that a typo is reported before anything changes. */
function stageOf(value: unknown, command: string): string {
  const stage = typeof value === 'string' ? value : undefined;
  if (!stage) throw new CliError(`--stage is required: one of ${STAGES.join(', ')}.\nUsage: slipway ${command}`);
  if (!STAGES.includes(stage)) throw new CliError(`${JSON.stringify(stage)} is not a stage; use one of ${STAGES.join(', ')}.`);
  return stage;
}

/** The app's coupling, or an error that says how to add the app to a pipeline. */
export async function couplingOf(api: ApiClient, app: string): Promise<Coupling> {
  try {
    return await api.get<Coupling>(`/apps/${enc(app)}/pipeline-couplings`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.body && /pipeline/i.test(e.message)) {
      throw new CliError(`${app} is not in a pipeline. Add it with: slipway pipelines:add PIPELINE -a ${app} --stage STAGE`);
    }
    throw e;
  }
}

export const approverWords = (p: StagePolicy | null): string =>
  !p?.approval_required ? 'no approval needed' : p.approver === 'different_user' ? 'approval by a user other than the requester' : 'approval by any authorised user';

export const pipelinesCommands: CommandSpec[] = [
  {
    name: 'pipelines',
    aliases: ['pipelines:list'],
    summary: 'list the pipelines you can see',
    flags: jsonFlag,
    maxArgs: 0,
    examples: ['slipway pipelines', 'slipway pipelines --json'],
    async run({ flags }) {
      const pipelines = await client().list<Pipeline>('/pipelines');
      if (flags.json) return printJson(pipelines);
      if (pipelines.length === 0) return out('You have no pipelines. Create one with: slipway pipelines:create NAME -a APP --stage STAGE');
      heading('My Pipelines');
      for (const p of pipelines) out(p.name);
    },
  },
  {
    name: 'pipelines:create',
    summary: 'create a pipeline with an app in it',
    usage: '[NAME]',
    app: true,
    flags: stageFlag,
    maxArgs: 1,
    description: 'NAME defaults to the app name. The pipeline belongs to you; the app is coupled at --stage.',
    examples: ['slipway pipelines:create shop -a shop-staging --stage staging'],
    async run({ flags, args }) {
      const stage = stageOf(flags.stage, 'pipelines:create NAME -a APP --stage STAGE');
      const { api, app } = await appSession(flags);
      const name = args[0] ?? app;
      const me = await api.get<{ id: string }>('/account');
      const pipeline = await action(`Creating ${name} pipeline`, () => api.post<Pipeline>('/pipelines', { name, owner: { id: me.id, type: 'user' } }));
      try {
        await action(`Adding ${app} to ${name} pipeline as ${stage}`, () => api.post('/pipeline-couplings', { app, pipeline: pipeline.id, stage }));
      } catch (e) {
        // Leave nothing half-made: the pipeline goes again when its first app cannot join it.
        await api.delete(`/pipelines/${pipeline.id}`).catch(() => undefined);
        throw new CliError(`${(e as Error).message}\nThe pipeline ${name} was not created.`);
      }
    },
  },
  {
    name: 'pipelines:add',
    summary: 'add an app to a pipeline at a stage',
    usage: 'PIPELINE',
    app: true,
    flags: stageFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:add shop -a shop-prod --stage production'],
    async run({ flags, args }) {
      const stage = stageOf(flags.stage, 'pipelines:add PIPELINE -a APP --stage STAGE');
      const { api, app } = await appSession(flags);
      const pipeline = await api.get<Pipeline>(`/pipelines/${enc(args[0])}`);
      await action(`Adding ${app} to ${pipeline.name} pipeline as ${stage}`, () => api.post('/pipeline-couplings', { app, pipeline: pipeline.id, stage }));
    },
  },
  {
    name: 'pipelines:remove',
    summary: 'remove an app from its pipeline (the app itself stays)',
    app: true,
    maxArgs: 0,
    examples: ['slipway pipelines:remove -a shop-prod'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const coupling = await couplingOf(api, app);
      await action(`Removing ${app} from ${coupling.pipeline.name ?? 'its'} pipeline`, () => api.delete(`/pipeline-couplings/${coupling.id}`));
    },
  },
  {
    name: 'pipelines:info',
    summary: "show a pipeline's stages and apps with their release, commit and status",
    usage: 'PIPELINE',
    flags: jsonFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:info shop', 'slipway pipelines:info shop --json'],
    async run({ flags, args }) {
      const overview = await client().get<Overview>(`/pipelines/${enc(args[0])}/overview`);
      if (flags.json) return printJson(overview);
      heading(overview.pipeline.name);
      out(`owner: ${overview.pipeline.owner.email ?? 'unknown'}`);
      const approvals = overview.stages.filter((s) => s.approval?.approval_required);
      for (const s of approvals) out(`${s.name} requires ${approverWords(s.approval)}`);
      out();
      const rows = overview.stages.flatMap((s) => s.apps.map((a) => [a.app.name, s.name, a.current_release ? `v${a.current_release.version}` : '', commitText(a.commit?.sha), statusText(a)]));
      if (rows.length === 0) return out(`No apps in ${overview.pipeline.name} that you can access. Add one with: slipway pipelines:add ${overview.pipeline.name} -a APP --stage STAGE`);
      table(rows, ['app', 'stage', 'release', 'commit', 'status']);
    },
  },
  {
    name: 'pipelines:require-approval',
    summary: 'require (or stop requiring) approval for promotions into a stage',
    usage: 'PIPELINE',
    flags: {
      stage: { type: 'string', short: 's', description: 'the stage promotions release into (default production)', valueName: 'STAGE' },
      'different-user': { type: 'boolean', description: 'the approver must not be the user who asked for the promotion' },
      'any-user': { type: 'boolean', description: 'any authorised user may approve, the requester included' },
      off: { type: 'boolean', description: 'promotions into the stage no longer need approval' },
      ...jsonFlag,
    },
    minArgs: 1,
    maxArgs: 1,
    description:
      'Authorised approvers are the pipeline owner, admins and users with access to every target app.\n' +
      'Promotions already waiting keep the policy they were created under.',
    examples: ['slipway pipelines:require-approval shop --stage production --different-user', 'slipway pipelines:require-approval shop --off'],
    async run({ flags, args }) {
      const chosen = ['different-user', 'any-user', 'off'].filter((f) => flags[f]);
      if (chosen.length > 1) throw new CliError(`Use only one of --${chosen.join(', --')}.`);
      const stage = str(flags.stage) ?? 'production';
      const body = flags.off ? { approval_required: false } : { approval_required: true, ...(flags['different-user'] ? { approver: 'different_user' } : flags['any-user'] ? { approver: 'any_user' } : {}) };
      const api = client();
      const pipeline = await api.get<Pipeline>(`/pipelines/${enc(args[0])}`);
      const policy = await api.patch<StagePolicy>(`/pipelines/${pipeline.id}/approval-policies/${enc(stage)}`, body);
      if (flags.json) return printJson(policy);
      if (!policy.approval_required) return out(`Promotions into the ${stage} stage of ${pipeline.name} no longer need approval.`);
      out(`Promotions into the ${stage} stage of ${pipeline.name} now need ${approverWords(policy)}.`);
    },
  },
];

/** A git sha shortened; any other source version (a tarball build's) as it is. */
const commitText = (version: string | undefined): string => (!version ? '' : /^[0-9a-f]{40,64}$/i.test(version) ? version.slice(0, 7) : version);

function statusText(a: StageApp): string {
  const parts = [
    a.status === 'succeeded'
      ? colour.green('succeeded')
      : a.status === 'failed'
        ? colour.red(`v${a.latest_release?.version} failed`)
        : a.status === 'releasing'
          ? colour.yellow(`v${a.latest_release?.version} releasing`)
          : a.status === 'not_released' || a.status === 'not_deployed'
            ? colour.dim(a.status === 'not_released' ? 'not released' : 'no code deployed')
            : a.status,
  ];
  if (a.awaiting_approval.length > 0) parts.push(colour.yellow(`${a.awaiting_approval.length} promotion${a.awaiting_approval.length === 1 ? '' : 's'} awaiting approval`));
  return parts.join(', ');
}
