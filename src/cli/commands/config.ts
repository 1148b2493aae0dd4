// config, config:get, config:set, config:unset
import type { CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, action, colour, heading, keyValues, listWords, out, printJson, shellQuote, warn } from '../output.js';
import { latestRelease, requireReleased, type Release } from './releases.js';

type ConfigVars = Record<string, string | null>;

/**
 * Sends a config change and reports the release it made (`done, v5`). The newest release
 * before and after tells whether this change made one: an unchanged value makes none.
 */
async function changeConfig(api: ApiClient, app: string, label: string, updates: ConfigVars): Promise<{ vars: ConfigVars; release?: Release }> {
  const before = await latestRelease(api, app);
  return action(label, async (suffix) => {
    const vars = await api.patch<ConfigVars>(`/apps/${enc(app)}/config-vars`, updates);
    const after = await latestRelease(api, app);
    if (after) suffix(`v${after.version}`);
    return { vars, release: after && after.version !== before?.version ? after : undefined };
  });
}

/**
 * With a release phase the new release only goes live if its release command succeeds:
 * wait for it, and fail the command if it did not. The changed vars stay in the app's
 * config either way (as on Heroku), so say so.
 */
async function followRelease(api: ApiClient, app: string, release: Release | undefined, keys: string[]): Promise<void> {
  if (!release) return;
  await requireReleased(api, app, release, {
    advice: (current) => [
      `The config change itself is kept: \`slipway config\` shows it and every later release (deploy or config change) uses it.`,
      current
        ? `Change ${listWords(keys)} again, or go back to v${current.version}'s code and config with: slipway rollback v${current.version} -a ${app}`
        : `Change ${listWords(keys)} again.`,
    ],
  });
}

/**
 * The app's config vars are what the next release gets. After a release that did not go
 * live (its release phase failed) the dynos still run an older config: say so on stderr.
 */
function warnIfNotRunning(app: string, releases: Release[]): void {
  const [newest] = releases;
  if (!newest || newest.current || newest.status === 'succeeded') return;
  const current = releases.find((r) => r.current);
  const state = newest.status === 'pending' ? 'is still running its release command' : newest.status;
  warn(
    `The newest release, v${newest.version}, ${state}: these values are what the next release gets, ` +
      (current ? `but the dynos run v${current.version} (its config: slipway releases:info v${current.version} -a ${app}).` : 'but no release runs yet.'),
  );
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
      const [vars, releases] = await Promise.all([
        api.get<ConfigVars>(`/apps/${enc(app)}/config-vars`),
        api.page<Release>(`/apps/${enc(app)}/releases`, 'version ..; max=100, order=desc'),
      ]);
      warnIfNotRunning(app, releases);
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
      const { vars, release } = await changeConfig(api, app, `Setting ${keys.join(', ')} and restarting ${app}`, updates);
      keyValues(keys.map((k) => [colour.green(k), vars?.[k] ?? updates[k]]));
      await followRelease(api, app, release, keys);
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
      const { release } = await changeConfig(api, app, `Unsetting ${args.join(', ')} and restarting ${app}`, updates);
      await followRelease(api, app, release, args);
    },
  },
];
