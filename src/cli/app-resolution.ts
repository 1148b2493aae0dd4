// Which app a command acts on: -a/--app, else SLIPWAY_APP, else the one git remote that
// points at this server (`<server>/<app>.git`), optionally chosen with -r/--remote. Remotes
// marked as a CI project's (same URL form) are not apps.
import { str, type Flags } from './args.js';
import { ApiClient } from './client.js';
import { loadCredentials } from './credentials.js';
import { appFromGitUrl, projectRemotes, remotes } from './git.js';
import { CliError } from './output.js';

export function client(): ApiClient {
  return new ApiClient(loadCredentials());
}

export async function resolveApp(flags: Flags, server: string, cwd = process.cwd()): Promise<string> {
  const explicit = str(flags.app);
  if (explicit) return explicit;
  const remoteName = str(flags.remote);
  if (!remoteName && process.env.SLIPWAY_APP) return process.env.SLIPWAY_APP;
  const all = await remotes(cwd);
  const projects = all.some((r) => appFromGitUrl(server, r.url)) ? await projectRemotes(cwd) : new Map<string, string>();
  if (remoteName) {
    const remote = all.find((r) => r.name === remoteName);
    if (!remote) throw new CliError(`There is no git remote named ${JSON.stringify(remoteName)} here. Run: git remote -v`);
    const project = projects.get(remoteName);
    if (project !== undefined) throw new CliError(`The git remote ${remoteName} is the CI project ${project}, not an app. Use -a APP (or -p ${project} with the ci:* commands).`);
    const app = appFromGitUrl(server, remote.url);
    if (!app) throw new CliError(`The git remote ${remoteName} (${remote.url}) is not an app on ${server}. Use -a APP.`);
    return app;
  }
  const matches = all.flatMap((r) => {
    const app = projects.has(r.name) ? undefined : appFromGitUrl(server, r.url);
    return app ? [{ remote: r.name, app }] : [];
  });
  const apps = [...new Set(matches.map((m) => m.app))];
  if (apps.length === 1) return apps[0];
  if (apps.length === 0) {
    throw new CliError('No app specified. Use -a APP, set SLIPWAY_APP, or run this inside a git repository with a Slipway remote (slipway git:remote -a APP).');
  }
  throw new CliError(
    `Several git remotes point at apps on this server: ${matches.map((m) => `${m.remote} (${m.app})`).join(', ')}. ` +
      'Pick one with -r REMOTE or -a APP.',
  );
}

/** The API client plus the resolved app, for app commands. */
export async function appSession(flags: Flags): Promise<{ api: ApiClient; app: string }> {
  const api = client();
  const app = await resolveApp(flags, api.url);
  return { api, app };
}
