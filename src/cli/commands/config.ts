// config, config:get, config:set, config:unset
import type { CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, action, colour, heading, keyValues, listWords, out, printJson, shellQuote } from '../output.js';

type ConfigVars = Record<string, string | null>;

/** The newest release's version, as `config:set` reports it (`done, v5`). */
export async function latestVersion(api: ApiClient, app: string): Promise<number | undefined> {
  const releases = await api.page<{ version: number }>(`/apps/${enc(app)}/releases`, 'version ..; order=desc,max=1');
  return releases[0]?.version;
}

const shellFlag = { shell: { type: 'boolean' as const, short: 's', description: 'print KEY=value lines for a shell or .env file' } };

export const configCommands: CommandSpec[] = [
  {
    name: 'config',
    aliases: ['config:list'],
    summary: 'show all config vars of an app',
    app: true,
    flags: { ...shellFlag, json: { type: 'boolean', description: 'print the raw API JSON' } },
    maxArgs: 0,
    examples: ['slipway config -a myapp', 'slipway config -s > .env'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const vars = await api.get<ConfigVars>(`/apps/${enc(app)}/config-vars`);
      if (flags.json) return printJson(vars);
      const keys = Object.keys(vars).sort();
      if (flags.shell) {
        for (const k of keys) out(`${k}=${shellQuote(vars[k] ?? '')}`);
        return;
      }
      heading(`${app} Config Vars`);
      keyValues(keys.map((k) => [colour.green(k), vars[k] ?? '']));
    },
  },
  {
    name: 'config:get',
    summary: 'print the value of one config var',
    usage: 'KEY',
    app: true,
    flags: shellFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway config:get DATABASE_URL -a myapp'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const vars = await api.get<ConfigVars>(`/apps/${enc(app)}/config-vars`);
      const key = args[0];
      const value = vars[key] ?? '';
      out(flags.shell ? `${key}=${shellQuote(value)}` : value);
    },
  },
  {
    name: 'config:set',
    aliases: ['config:add'],
    summary: 'set config vars (creates a release and restarts the dynos)',
    usage: 'KEY=VALUE...',
    app: true,
    minArgs: 1,
    examples: ['slipway config:set LOG_LEVEL=debug "GREETING=hello world" -a myapp'],
    async run({ flags, args }) {
      const updates: Record<string, string> = {};
      for (const arg of args) {
        const at = arg.indexOf('=');
        if (at <= 0) throw new CliError(`${JSON.stringify(arg)} is not KEY=VALUE. Example: slipway config:set LOG_LEVEL=debug`);
        updates[arg.slice(0, at)] = arg.slice(at + 1);
      }
      const { api, app } = await appSession(flags);
      const keys = Object.keys(updates);
      const result = await action(`Setting ${keys.join(', ')} and restarting ${app}`, async (suffix) => {
        const vars = await api.patch<ConfigVars>(`/apps/${enc(app)}/config-vars`, updates);
        const v = await latestVersion(api, app);
        if (v !== undefined) suffix(`v${v}`);
        return vars;
      });
      keyValues(keys.map((k) => [colour.green(k), result?.[k] ?? updates[k]]));
    },
  },
  {
    name: 'config:unset',
    aliases: ['config:remove'],
    summary: 'remove config vars (creates a release and restarts the dynos)',
    usage: 'KEY...',
    app: true,
    minArgs: 1,
    examples: ['slipway config:unset LOG_LEVEL -a myapp'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const updates: Record<string, null> = Object.fromEntries(args.map((k) => [k, null]));
      await action(`Unsetting ${args.join(', ')} and restarting ${app}`, async (suffix) => {
        await api.patch(`/apps/${enc(app)}/config-vars`, updates);
        const v = await latestVersion(api, app);
        if (v !== undefined) suffix(`v${v}`);
      });
    },
  },
];
