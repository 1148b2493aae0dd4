// pipelines:promote, pipelines:approve, pipelines:reject, pipelines:promotions, pipelines:diff
import { type CommandSpec, type Flags } from '../args.js';
import { appSession, client } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, action, colour, err, heading, out, printJson, sleep, table, timeAndAgo } from '../output.js';
import { couplingOf } from './pipelines.js';

interface Ref {
  id: string;
  name: string | null;
}

export interface PromotionRecord {
  id: string;
  pipeline: Ref;
  status: string;
  source: { app: Ref; release: { id: string; version: number | null }; commit: string | null };
  requested_by: { id: string; email: string | null };
  approval: null | { policy: string; status: string; decided_by: { email: string | null } | null; decided_at: string | null };
  targets: Array<{ app: Ref; stage: string | null; status: string; release: { version: number | null } | null; error_message: string | null }>;
  created_at: string;
}

interface DiffCommit {
  sha: string;
  author: { name: string; email: string };
  date: string;
  message: string;
}

interface PipelineDiff {
  app: { name: string };
  downstream_stage: string;
  comparisons: Array<{ app: { name: string }; state: string; commits: DiffCommit[]; message: string; ahead: number | null }>;
}

const jsonFlag = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };
const awaiting = (p: PromotionRecord) => p.approval?.status === 'awaiting';
const names = (p: PromotionRecord) => p.targets.map((t) => t.app.name ?? t.app.id).join(', ');

/** Polls a promotion until no target is pending, then prints each target's outcome. */
async function followPromotion(api: ApiClient, promotion: PromotionRecord): Promise<number> {
  let record = promotion;
  await action(`Promoting ${record.source.app.name} v${record.source.release.version} to ${names(record)}`, async (suffix) => {
    while (record.targets.some((t) => t.status === 'pending')) {
      await sleep(500);
      record = await api.get<PromotionRecord>(`/pipeline-promotions/${record.id}/record`);
    }
    suffix(record.targets.every((t) => t.status === 'succeeded') ? 'succeeded' : 'with failures');
  });
  table(record.targets.map((t) => [t.app.name ?? t.app.id, t.status === 'succeeded' ? colour.green('succeeded') : colour.red(t.status), t.release?.version ? `v${t.release.version}` : '', t.error_message ?? '']));
  if (record.targets.some((t) => t.status !== 'succeeded')) {
    err('Promotion to some apps failed; the others and the source app are unchanged by it.');
    return 1;
  }
  return 0;
}

function explainWaiting(p: PromotionRecord): void {
  const who = p.approval?.policy === 'different_user' ? 'a user other than the one who asked for it' : 'an authorised user';
  out(`Promotion ${p.id} of ${p.source.app.name} v${p.source.release.version} to ${names(p)} is waiting for approval by ${who}.`);
  out('Nothing is released until then.');
  out(`Approve it with: slipway pipelines:approve ${p.id}`);
  out(`Cancel it with:  slipway pipelines:reject ${p.id}`);
}

/** The promotion named by ID, or the one waiting for approval into the -a app. */
async function waitingPromotion(flags: Flags, args: string[]): Promise<{ api: ApiClient; id: string }> {
  if (args[0]) return { api: client(), id: args[0] };
  const { api, app } = await appSession(flags);
  const coupling = await couplingOf(api, app);
  const all = await api.list<PromotionRecord>(`/pipelines/${coupling.pipeline.id}/promotions`);
  const waiting = all.filter((p) => awaiting(p) && p.targets.some((t) => t.app.id === coupling.app.id));
  if (waiting.length === 0) throw new CliError(`No promotion into ${app} is waiting for approval. See: slipway pipelines:promotions ${coupling.pipeline.name}`);
  if (waiting.length > 1) {
    throw new CliError(`${waiting.length} promotions into ${app} are waiting for approval; name one:\n${waiting.map((p) => `  ${p.id}  ${p.source.app.name} v${p.source.release.version} by ${p.requested_by.email}`).join('\n')}`);
  }
  return { api, id: waiting[0].id };
}

export const pipelinesPromoteCommands: CommandSpec[] = [
  {
    name: 'pipelines:promote',
    summary: "promote an app's current release to the apps of the next stage (same slug, no rebuild)",
    app: true,
    flags: { to: { type: 'string', short: 't', description: 'comma-separated target apps (default: every app of the next stage)', valueName: 'APPS' } },
    maxArgs: 0,
    description: 'Each target gets a new release with the source slug and its own config vars. When the target stage requires approval, the promotion waits for it and nothing is released until then.',
    examples: ['slipway pipelines:promote -a shop-staging', 'slipway pipelines:promote -a shop-staging --to shop-prod,shop-prod-eu'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const coupling = await couplingOf(api, app);
      const to = typeof flags.to === 'string' ? flags.to.split(',').map((s) => s.trim()).filter(Boolean) : [];
      const targets = [];
      for (const name of to) targets.push({ app: { id: (await api.get<{ id: string }>(`/apps/${enc(name)}`)).id } });
      const created = await api.post<{ id: string }>('/pipeline-promotions', { pipeline: { id: coupling.pipeline.id }, source: { app: { id: coupling.app.id } }, targets });
      const record = await api.get<PromotionRecord>(`/pipeline-promotions/${created.id}/record`);
      if (awaiting(record)) return explainWaiting(record);
      return followPromotion(api, record);
    },
  },
  {
    name: 'pipelines:approve',
    summary: 'approve a promotion that waits for approval; it is then released',
    usage: '[PROMOTION_ID]',
    app: true,
    maxArgs: 1,
    description: 'Without PROMOTION_ID, approves the one promotion into the -a app that is waiting.',
    examples: ['slipway pipelines:approve 01234567-89ab-4cde-8f01-23456789abcd', 'slipway pipelines:approve -a shop-prod'],
    async run({ flags, args }) {
      const { api, id } = await waitingPromotion(flags, args);
      const record = await api.post<PromotionRecord>(`/pipeline-promotions/${enc(id)}/actions/approve`);
      err(`Approved promotion ${record.id} (asked for by ${record.requested_by.email}).`);
      return followPromotion(api, record);
    },
  },
  {
    name: 'pipelines:reject',
    summary: 'reject (or cancel) a promotion that waits for approval; nothing is released',
    usage: '[PROMOTION_ID]',
    app: true,
    maxArgs: 1,
    examples: ['slipway pipelines:reject 01234567-89ab-4cde-8f01-23456789abcd', 'slipway pipelines:reject -a shop-prod'],
    async run({ flags, args }) {
      const { api, id } = await waitingPromotion(flags, args);
      const record = await action(`Rejecting promotion ${id}`, () => api.post<PromotionRecord>(`/pipeline-promotions/${enc(id)}/actions/reject`));
      out(`Nothing was released to ${names(record)}.`);
    },
  },
  {
    name: 'pipelines:promotions',
    summary: "list a pipeline's promotions, newest first, with who asked and who approved",
    usage: 'PIPELINE',
    flags: jsonFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:promotions shop'],
    async run({ flags, args }) {
      const api = client();
      const pipeline = await api.get<{ id: string; name: string }>(`/pipelines/${enc(args[0])}`);
      const list = await api.page<PromotionRecord>(`/pipelines/${pipeline.id}/promotions`, 'created_at ..; max=50, order=desc');
      if (flags.json) return printJson(list);
      if (list.length === 0) return out(`No promotions in ${pipeline.name} yet.`);
      heading(`${pipeline.name} Promotions`);
      table(
        list.map((p) => [
          p.id,
          `${p.source.app.name} v${p.source.release.version} → ${names(p)}`,
          promotionState(p),
          `by ${p.requested_by.email}${p.approval?.decided_by ? `, ${p.approval.status} by ${p.approval.decided_by.email}` : ''}`,
          timeAndAgo(p.created_at),
        ]),
      );
    },
  },
  {
    name: 'pipelines:diff',
    summary: "list the commits between an app's release and the next stage's apps",
    app: true,
    flags: jsonFlag,
    maxArgs: 0,
    examples: ['slipway pipelines:diff -a shop-staging'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const diff = await api.get<PipelineDiff>(`/apps/${enc(app)}/pipeline-diff`);
      if (flags.json) return printJson(diff);
      diff.comparisons.forEach((c, i) => {
        if (i > 0) out();
        heading(`Comparing ${diff.app.name} to ${c.app.name}`);
        out(c.message);
        if (c.commits.length === 0) return;
        out();
        table(
          c.commits.map((k) => [k.sha.slice(0, 7), k.date.slice(0, 10), k.author.name, k.message]),
          ['sha', 'date', 'author', 'message'],
        );
        if (c.ahead !== null && c.ahead > c.commits.length) out(colour.dim(`… and ${c.ahead - c.commits.length} older commits`));
      });
    },
  },
];

function promotionState(p: PromotionRecord): string {
  if (awaiting(p)) return colour.yellow('awaiting approval');
  if (p.approval?.status === 'rejected') return colour.red('rejected');
  if (p.status === 'pending') return colour.yellow('running');
  const failed = p.targets.filter((t) => t.status === 'failed').length;
  return failed ? colour.red(`${failed} of ${p.targets.length} failed`) : colour.green('succeeded');
}
