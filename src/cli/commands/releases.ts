// releases, releases:info, releases:output, rollback
import { str, type CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, action, colour, err, heading, keyValues, out, printJson, sleep, table, timeAndAgo } from '../output.js';
import { streamOutput } from '../stream.js';

export interface Release {
  id: string;
  version: number;
  description: string;
  status: 'pending' | 'succeeded' | 'failed' | 'expired' | string;
  current: boolean;
  eligible_for_rollback: boolean;
  user?: { email?: string };
  created_at: string;
  output_stream_url?: string | null;
  slug?: { id?: string } | null;
  addon_plan_names?: string[];
}

/** `v5` or `5` → 5; anything else is an error that says what is expected. */
export function parseVersion(arg: string): number {
  const m = /^v?(\d+)$/.exec(arg.trim());
  if (!m) throw new CliError(`${JSON.stringify(arg)} is not a release version. Use e.g. v5 (see: slipway releases).`);
  return Number(m[1]);
}

export const statusNote = (r: Release): string =>
  r.status === 'pending'
    ? colour.yellow('release command executing')
    : r.status === 'failed'
      ? colour.red('release command failed')
      : r.status === 'expired'
        ? colour.dim('expired')
        : '';

export async function recentReleases(api: ApiClient, app: string, max: number): Promise<Release[]> {
  return api.page<Release>(`/apps/${enc(app)}/releases`, `version ..; max=${max}, order=desc`);
}

/** The release named by `vN`, or the newest one. */
export async function releaseFor(api: ApiClient, app: string, arg: string | undefined): Promise<Release> {
  if (arg) return api.get<Release>(`/apps/${enc(app)}/releases/${parseVersion(arg)}`);
  const [latest] = await recentReleases(api, app, 10);
  if (!latest) throw new CliError(`${app} has no releases yet.`);
  return latest;
}

/** The newest release, as `config:set` reads it (`order=desc,max=1`). */
export async function latestRelease(api: ApiClient, app: string): Promise<Release | undefined> {
  return (await api.page<Release>(`/apps/${enc(app)}/releases`, 'version ..; order=desc,max=1'))[0];
}

/**
 * Follows a release to its outcome: streams its release-phase output (to stdout, as
 * `rollback` always has) and waits until it is no longer pending. Returns it as it ended.
 */
export async function settleRelease(api: ApiClient, app: string, release: Release): Promise<Release> {
  if (release.output_stream_url) {
    if (release.status === 'pending') err(`Running the release command of v${release.version}...`);
    await streamOutput(api, release.output_stream_url, { retries: 5 });
  }
  let settled = release;
  while (settled.status === 'pending') {
    await sleep(1000);
    settled = await api.get<Release>(`/apps/${enc(app)}/releases/${enc(release.id)}`);
  }
  return settled;
}

/** The error for a release that did not go live: what still runs, what to do, where the output is. */
export async function releaseFailed(api: ApiClient, app: string, release: Release, advice: (current?: Release) => string[] = () => []): Promise<CliError> {
  const recent = await api.page<Release>(`/apps/${enc(app)}/releases`, 'version ..; max=100, order=desc');
  const current = recent.find((r) => r.current);
  return new CliError(
    [
      `Release v${release.version} ${release.status}: its release command did not succeed, so v${release.version} was not deployed.`,
      current ? `v${current.version} is still the current release; the dynos keep running it.` : `${app} has no current release.`,
      ...advice(current),
      `See the release command's output with: slipway releases:output v${release.version} -a ${app}`,
    ].join('\n'),
  );
}

/**
 * Waits for a release made by this command and fails the command if it did not go live.
 * `announce`: after a release phase, say that it went live (deploy says so itself).
 */
export async function requireReleased(
  api: ApiClient,
  app: string,
  release: Release,
  options: { announce?: boolean; advice?: (current?: Release) => string[] } = {},
): Promise<Release> {
  const settled = await settleRelease(api, app, release);
  if (settled.status !== 'succeeded') throw await releaseFailed(api, app, settled, options.advice);
  if (options.announce !== false && release.output_stream_url) err(`Release v${settled.version} is now current.`);
  return settled;
}

export const releasesCommands: CommandSpec[] = [
  {
    name: 'releases',
    aliases: ['releases:list'],
    summary: "list an app's releases, newest first",
    app: true,
    flags: {
      num: { type: 'string', short: 'n', description: 'how many releases to show (default 15)', valueName: 'N' },
      json: { type: 'boolean', description: 'print the raw API JSON' },
    },
    maxArgs: 0,
    examples: ['slipway releases -a myapp', 'slipway releases -n 5 --json'],
    async run({ flags }) {
      const n = str(flags.num) ?? '15';
      if (!/^\d+$/.test(n) || Number(n) < 1) throw new CliError(`-n must be a positive number, got ${JSON.stringify(n)}.`);
      const { api, app } = await appSession(flags);
      const releases = await recentReleases(api, app, Math.min(Number(n), 1000));
      if (flags.json) return printJson(releases);
      if (releases.length === 0) return out(`${app} has no releases yet.`);
      const current = releases.find((r) => r.current);
      heading(`${app} Releases${current ? ` - Current: v${current.version}` : ''}`);
      table(
        releases.map((r) => [
          colour.green(`v${r.version}`),
          [r.description, statusNote(r)].filter(Boolean).join(' '),
          r.user?.email ?? '',
          timeAndAgo(r.created_at),
        ]),
      );
    },
  },
  {
    name: 'releases:info',
    summary: 'show one release (default: the newest) and its config vars',
    usage: '[vN]',
    app: true,
    flags: {
      json: { type: 'boolean', description: 'print the raw API JSON' },
      shell: { type: 'boolean', short: 's', description: 'print the config vars as KEY=value lines' },
    },
    maxArgs: 1,
    examples: ['slipway releases:info v3 -a myapp'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const release = await releaseFor(api, app, args[0]);
      if (flags.json) return printJson(release);
      heading(`Release v${release.version}`);
      const addons = release.addon_plan_names ?? [];
      keyValues([
        // Slipway has no add-on plans to list; the heroku CLI also leaves an empty list out.
        ...(addons.length ? [['Add-ons', addons.join(', ')] as [string, string]] : []),
        ['By', release.user?.email ?? ''],
        ['Change', [release.description, statusNote(release)].filter(Boolean).join(' ')],
        ['Current', release.current ? 'yes' : 'no'],
        ['Eligible for Rollback?', release.eligible_for_rollback ? 'Yes' : 'No'],
        ['Status', release.status],
        ['When', timeAndAgo(release.created_at)],
      ]);
      const vars = await api.get<Record<string, string>>(`/apps/${enc(app)}/releases/${release.version}/config-vars`);
      out();
      heading(`v${release.version} Config vars`);
      const keys = Object.keys(vars ?? {}).sort();
      if (flags.shell) for (const k of keys) out(`${k}=${vars[k]}`);
      else keyValues(keys.map((k) => [colour.green(k), vars[k] ?? '']));
    },
  },
  {
    name: 'releases:output',
    summary: "show a release's release-phase output",
    usage: '[vN]',
    app: true,
    maxArgs: 1,
    examples: ['slipway releases:output v7 -a myapp'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      const release = await releaseFor(api, app, args[0]);
      if (!release.output_stream_url) return out(`Release v${release.version} has no release output.`);
      await streamOutput(api, release.output_stream_url, { retries: 5 });
    },
  },
  {
    name: 'rollback',
    aliases: ['releases:rollback'],
    summary: 'roll back to an earlier release (default: the one before the current)',
    usage: '[vN]',
    app: true,
    maxArgs: 1,
    description: 'Creates a new release with the code and config vars of the target release.',
    examples: ['slipway rollback -a myapp', 'slipway rollback v3'],
    async run({ flags, args }) {
      const { api, app } = await appSession(flags);
      let target: Release;
      if (args[0]) {
        target = await api.get<Release>(`/apps/${enc(app)}/releases/${parseVersion(args[0])}`);
      } else {
        const eligible = (await recentReleases(api, app, 10)).filter((r) => r.eligible_for_rollback);
        if (!eligible[1]) throw new CliError(`${app} has no earlier release to roll back to. Pick one with: slipway rollback vN`);
        target = eligible[1];
      }
      const release = await action(`Rolling back ${app} to v${target.version}`, async (suffix) => {
        const created = await api.post<Release>(`/apps/${enc(app)}/releases`, { release: target.id });
        suffix(`v${created.version}`);
        return created;
      });
      await requireReleased(api, app, release);
    },
  },
];
