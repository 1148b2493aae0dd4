// apps, apps:create, apps:info, apps:destroy, maintenance[:on|:off]
import { str, strs, type CommandSpec, type Flags } from '../args.js';
import { appSession, client } from '../app-resolution.js';
import { enc } from '../client.js';
import { appGitUrl, appFromGitUrl, configureCredentialHelper, git, insideRepo, remotes, setRemote } from '../git.js';
import { CliError, action, bytes, err, heading, keyValues, out, printJson, timeAndAgo } from '../output.js';
import { promptLine } from './auth.js';
import { createWithManifest, describeManifest, loadLocalManifest, parseEnvFlags } from '../manifest.js';

export interface App {
  id: string;
  name: string;
  web_url?: string;
  git_url?: string;
  owner?: { email?: string };
  region?: { name?: string };
  stack?: { name?: string };
  released_at?: string | null;
  slug_size?: number | null;
  repo_size?: number | null;
  maintenance?: boolean;
  created_at?: string;
}

const jsonFlag = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };

async function destroyTarget(flags: Flags, args: string[]): Promise<{ api: ReturnType<typeof client>; app: string }> {
  if (args[0]) return { api: client(), app: args[0] };
  return appSession(flags);
}

export const appsCommands: CommandSpec[] = [
  {
    name: 'apps',
    aliases: ['apps:list'],
    summary: 'list your apps',
    flags: jsonFlag,
    maxArgs: 0,
    examples: ['slipway apps', 'slipway apps --json'],
    async run({ flags }) {
      const api = client();
      const apps = await api.list<App>('/apps');
      if (flags.json) return printJson(apps);
      if (apps.length === 0) return out('You have no apps. Create one with: slipway apps:create NAME');
      heading(`Apps on ${api.url}`);
      for (const a of [...apps].sort((x, y) => x.name.localeCompare(y.name))) {
        out(a.owner?.email && api.creds.email && a.owner.email !== api.creds.email ? `${a.name}  ${a.owner.email}` : a.name);
      }
    },
  },
  {
    name: 'apps:create',
    aliases: ['create'],
    summary: 'create an app (and a git remote for it when run in a repository)',
    usage: '[NAME]',
    flags: {
      remote: { type: 'string', description: 'name of the git remote to add (default: slipway)', valueName: 'REMOTE' },
      'no-remote': { type: 'boolean', description: 'do not add a git remote' },
      manifest: { type: 'boolean', description: 'set the app up from ./app.json (config vars, buildpacks, formation, postdeploy)' },
      env: { type: 'string', short: 'e', multiple: true, description: 'with --manifest: values for app.json config vars, "K=V;K2=V2"', valueName: 'K=V' },
      ...jsonFlag,
    },
    description: `Without NAME the server picks a name. Inside a git repository a remote (default
"slipway") pointing at <server>/<name>.git is added, and a repository-local git credential
helper is set up so that \`git push slipway main\` authenticates with your API key.`,
    examples: ['slipway apps:create myapp', 'slipway apps:create --remote staging myapp-staging', 'slipway apps:create myapp --manifest --env DATABASE_URL=postgres://…'],
    maxArgs: 1,
    async run({ flags, args }) {
      const api = client();
      const name = args[0];
      const env = parseEnvFlags(strs(flags.env));
      if (!flags.manifest && Object.keys(env).length) throw new CliError('--env goes with --manifest (it gives values to app.json config vars); use config:set otherwise.');
      const local = flags.manifest ? loadLocalManifest(process.cwd(), env) : undefined;
      const app = await action(name ? `Creating ${name}` : 'Creating app', async (suffix) => {
        if (local) {
          const setUp = await createWithManifest(api, name, local.text, env);
          if (!name) suffix(setUp.name);
          return api.get<App>(`/apps/${enc(setUp.name)}`);
        }
        const created = await api.post<App>('/apps', name ? { name } : {});
        if (!name) suffix(created.name);
        return created;
      });
      if (local) describeManifest(local.resolved, env);
      const gitUrl = appGitUrl(api.url, app.name);
      if (flags.json) printJson(app);
      else out(`${app.web_url ?? ''} | ${gitUrl}`.replace(/^ \| /, ''));
      if (!flags['no-remote'] && (await insideRepo())) {
        const remoteName = str(flags.remote) ?? 'slipway';
        const how = await setRemote(remoteName, gitUrl);
        await configureCredentialHelper(api.url);
        err(`Git remote ${remoteName} ${how === 'added' ? 'added' : 'updated'}: ${gitUrl}`);
      }
    },
  },
  {
    name: 'apps:info',
    aliases: ['info'],
    summary: 'show an app',
    app: true,
    flags: jsonFlag,
    usage: '',
    maxArgs: 0,
    examples: ['slipway apps:info -a myapp', 'slipway apps:info --json'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const info = await api.get<App>(`/apps/${enc(app)}`);
      if (flags.json) return printJson(info);
      let dynos: Array<{ type: string }> = [];
      try {
        dynos = await api.list(`/apps/${enc(app)}/dynos`);
      } catch {
        dynos = [];
      }
      const counts = new Map<string, number>();
      for (const d of dynos) counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
      heading(info.name);
      const rows: Array<[string, string]> = [
        ['Dynos', [...counts].map(([t, n]) => `${t}: ${n}`).join(', ')],
        ['Git URL', appGitUrl(api.url, info.name)],
        ['Maintenance', info.maintenance ? 'on' : 'off'],
        ['Owner', info.owner?.email ?? ''],
        ['Region', info.region?.name ?? ''],
        ['Released', timeAndAgo(info.released_at)],
        ['Repo Size', bytes(info.repo_size)],
        ['Slug Size', bytes(info.slug_size)],
        ['Stack', info.stack?.name ?? ''],
        ['Web URL', info.web_url ?? ''],
      ];
      // A fact Slipway does not have (repo size) or not yet (slug size before a deploy) is left out, not shown blank.
      keyValues(rows.filter(([, value]) => value !== ''));
    },
  },
  {
    name: 'apps:destroy',
    aliases: ['destroy'],
    summary: 'permanently destroy an app',
    usage: '[APP] --confirm APP',
    app: true,
    flags: { confirm: { type: 'string', description: 'the app name again, to confirm', valueName: 'APP' } },
    description: 'Also removes local git remotes that point at the app.',
    examples: ['slipway apps:destroy -a myapp --confirm myapp'],
    maxArgs: 1,
    async run({ flags, args }) {
      const { api, app } = await destroyTarget(flags, args);
      const confirm = str(flags.confirm);
      if (confirm !== undefined && confirm !== app) {
        throw new CliError(`Confirmation ${JSON.stringify(confirm)} does not match ${app}. Nothing was destroyed.`);
      }
      if (confirm === undefined) {
        if (!process.stdin.isTTY) {
          throw new CliError(`This permanently destroys ${app} and its data. To proceed, run: slipway apps:destroy -a ${app} --confirm ${app}`);
        }
        err(`WARNING: This will permanently destroy ${app}, its releases, config and dynos.`);
        const typed = await promptLine(`To proceed, type ${app}: `);
        if (typed !== app) throw new CliError(`Confirmation did not match ${app}. Nothing was destroyed.`);
      }
      await api.get(`/apps/${enc(app)}`);
      await action(`Destroying ${app}`, () => api.delete(`/apps/${enc(app)}`));
      if (await insideRepo()) {
        for (const r of await remotes()) {
          if (appFromGitUrl(api.url, r.url) === app) {
            await git(['remote', 'remove', r.name]);
            err(`Git remote ${r.name} removed`);
          }
        }
      }
    },
  },
  {
    name: 'maintenance',
    summary: 'show whether maintenance mode is on',
    app: true,
    maxArgs: 0,
    examples: ['slipway maintenance -a myapp'],
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      const info = await api.get<App>(`/apps/${enc(app)}`);
      out(info.maintenance ? 'on' : 'off');
    },
  },
  ...(['on', 'off'] as const).map(
    (mode): CommandSpec => ({
      name: `maintenance:${mode}`,
      summary: `turn maintenance mode ${mode}`,
      app: true,
      maxArgs: 0,
      examples: [`slipway maintenance:${mode} -a myapp`],
      async run({ flags }) {
        const { api, app } = await appSession(flags);
        await action(`${mode === 'on' ? 'Enabling' : 'Disabling'} maintenance mode for ${app}`, () =>
          api.patch(`/apps/${enc(app)}`, { maintenance: mode === 'on' }),
        );
      },
    }),
  ),
];
