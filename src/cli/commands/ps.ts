// ps, ps:scale, ps:restart, ps:stop
import { str, type CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc } from '../client.js';
import { CliError, action, colour, heading, out, printJson, timeAndAgo } from '../output.js';

export interface Dyno {
  name: string;
  type: string;
  state: string;
  command: string;
  size: string;
  updated_at: string;
  release?: { version?: number };
}

export interface Formation {
  type: string;
  quantity: number;
  size: string;
  command: string;
}

const stateColour = (state: string): string =>
  state === 'up' ? colour.green(state) : state === 'crashed' ? colour.red(state) : state === 'starting' ? colour.yellow(state) : state;

/** Natural order: web.2 before web.10. */
const byName = (a: Dyno, b: Dyno) => a.name.localeCompare(b.name, undefined, { numeric: true });

function printDynos(dynos: Dyno[]): void {
  const oneOff = dynos.filter((d) => d.type === 'run').sort(byName);
  const groups = new Map<string, Dyno[]>();
  for (const d of dynos.filter((x) => x.type !== 'run').sort(byName)) {
    const key = `${d.type}\u0000${d.size}\u0000${d.command}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  let first = true;
  const gap = () => {
    if (!first) out();
    first = false;
  };
  if (oneOff.length) {
    gap();
    heading(`run: one-off processes (${oneOff.length})`);
    for (const d of oneOff) out(`${d.name} (${d.size}): ${stateColour(d.state)} ${timeAndAgo(d.updated_at)}: ${d.command}`);
  }
  const sorted = [...groups.values()].sort((a, b) => a[0].type.localeCompare(b[0].type));
  for (const group of sorted) {
    gap();
    const d0 = group[0];
    heading(`${d0.type} (${d0.size}): ${d0.command} (${group.length})`);
    for (const d of group) out(`${d.name}: ${stateColour(d.state)} ${timeAndAgo(d.updated_at)}`);
  }
}

export const formationSummary = (f: Formation[]): string =>
  [...f].sort((a, b) => a.type.localeCompare(b.type)).map((x) => `${x.type}=${x.quantity}:${x.size}`).join(' ');

/** `web=2`, `worker+1`, `web-1`, `web=1:Standard-2X`, `web:Standard-2X`. */
export function parseScaleArg(arg: string): { type: string; quantity?: string; size?: string } {
  const m = /^([\w-]+?)(?:([=+-])(\d+))?(?::([\w-]+))?$/.exec(arg);
  if (!m || (!m[2] && !m[4])) {
    throw new CliError(`${JSON.stringify(arg)} is not TYPE=N, TYPE+N, TYPE-N or TYPE=N:SIZE. Example: slipway ps:scale web=2 worker+1`);
  }
  const [, type, op, n, size] = m;
  const quantity = op ? (op === '=' ? n : `${op}${n}`) : undefined;
  return { type, ...(quantity !== undefined ? { quantity } : {}), ...(size ? { size } : {}) };
}

export const psCommands: CommandSpec[] = [
  {
    name: 'ps',
    aliases: ['ps:list', 'dynos'],
    summary: "list an app's dynos",
    usage: '[TYPE...]',
    app: true,
    flags: { json: { type: 'boolean', description: 'print the raw API JSON' } },
    examples: ['slipway ps -a myapp', 'slipway ps web'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      let dynos = await api.list<Dyno>(`/apps/${enc(app)}/dynos`);
      if (args.length) dynos = dynos.filter((d) => args.includes(d.type));
      if (flags.json) return printJson(dynos);
      if (dynos.length === 0) {
        out(args.length ? `No ${args.join(', ')} dynos on ${app}.` : `No dynos on ${app}.`);
        return;
      }
      printDynos(dynos);
    },
  },
  {
    name: 'ps:scale',
    aliases: ['scale'],
    summary: 'scale process types (or show the formation)',
    usage: '[TYPE=N | TYPE+N | TYPE-N][:SIZE]...',
    app: true,
    flags: { json: { type: 'boolean', description: 'print the raw API JSON' } },
    examples: ['slipway ps:scale', 'slipway ps:scale web=2 worker+1', 'slipway ps:scale web=1:Standard-2X'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      if (args.length === 0) {
        const formation = await api.list<Formation>(`/apps/${enc(app)}/formation`);
        if (flags.json) return printJson(formation);
        if (formation.length === 0) throw new CliError(`No process types on ${app} yet. Deploy code with a Procfile first.`);
        out(formationSummary(formation));
        return;
      }
      const updates = args.map(parseScaleArg);
      const types = updates.map((u) => u.type);
      const result = await action(`Scaling dynos on ${app}`, async (suffix) => {
        const formation = await api.patch<Formation[]>(`/apps/${enc(app)}/formation`, { updates });
        const changed = formation.filter((f) => types.includes(f.type));
        suffix(`now running ${changed.map((f) => `${f.type} at ${f.quantity}:${f.size}`).join(', ')}`);
        return formation;
      });
      if (flags.json) printJson(result);
    },
  },
  {
    name: 'ps:restart',
    aliases: ['restart'],
    summary: 'restart one dyno, a process type, or all dynos',
    usage: '[DYNO|TYPE]',
    app: true,
    flags: {
      'dyno-name': { type: 'string', short: 'd', description: 'restart this dyno (e.g. web.1)', valueName: 'DYNO' },
      'process-type': { type: 'string', short: 'p', description: 'restart all dynos of this type', valueName: 'TYPE' },
    },
    maxArgs: 1,
    examples: ['slipway ps:restart', 'slipway ps:restart web', 'slipway ps:restart web.1'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const target = str(flags['dyno-name']) ?? str(flags['process-type']) ?? args[0];
      const isDyno = str(flags['dyno-name']) !== undefined || (!flags['process-type'] && target?.includes('.'));
      if (!target) {
        await action(`Restarting all dynos on ${app}`, () => api.delete(`/apps/${enc(app)}/dynos`));
      } else if (isDyno) {
        await action(`Restarting dyno ${target} on ${app}`, () => api.delete(`/apps/${enc(app)}/dynos/${enc(target)}`));
      } else {
        await action(`Restarting ${target} dynos on ${app}`, () => api.delete(`/apps/${enc(app)}/formations/${enc(target)}`));
      }
    },
  },
  {
    name: 'ps:stop',
    aliases: ['stop'],
    summary: 'stop one dyno or all dynos of a type',
    usage: 'DYNO|TYPE',
    app: true,
    minArgs: 1,
    maxArgs: 1,
    description: 'Stopping does not change the formation: scale to 0 with ps:scale to keep a type down.',
    examples: ['slipway ps:stop run.4821', 'slipway ps:stop worker'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const target = args[0];
      if (target.includes('.')) {
        await action(`Stopping dyno ${target} on ${app}`, () => api.post(`/apps/${enc(app)}/dynos/${enc(target)}/actions/stop`));
      } else {
        await action(`Stopping ${target} dynos on ${app}`, () => api.post(`/apps/${enc(app)}/formations/${enc(target)}/actions/stop`));
      }
    },
  },
];
