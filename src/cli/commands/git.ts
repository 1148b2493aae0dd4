// git:remote, git:credentials (the git credential helper)
import { str, type CommandSpec } from '../args.js';
import { client } from '../app-resolution.js';
import { ApiError, enc, type ApiClient } from '../client.js';
import { loadCredentials } from '../credentials.js';
import { appGitUrl, configureCredentialHelper, insideRepo, setRemote } from '../git.js';
import { CliError, out } from '../output.js';
import { addProjectRemote } from '../project-remote.js';

/** The app, or a pointer to -p when the name is a CI project's (they share the URL space). */
async function appNamed(api: ApiClient, app: string): Promise<{ name: string }> {
  try {
    return await api.get<{ name: string }>(`/apps/${enc(app)}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    const project = await api.request<{ name?: string }>('GET', `/projects/${enc(app)}`, { allow: [404] });
    if (project.status === 200) throw new CliError(`${app} is a CI project, not an app. Run: slipway git:remote -p ${app}`);
    throw e;
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c) => {
      data += c;
      if (/\n\n$/.test(data)) resolve(data); // git ends the request with a blank line
    });
    process.stdin.on('end', () => resolve(data));
  });
}

export const gitCommands: CommandSpec[] = [
  {
    name: 'git:remote',
    summary: 'add (or update) a git remote for an app or a CI project',
    usage: '-a APP [-r REMOTE] | -p PROJECT [-r REMOTE]',
    app: true,
    flags: { project: { type: 'string', short: 'p', description: 'a CI project instead of an app (default remote: slipway-ci)', valueName: 'PROJECT' } },
    description: `The remote (default "slipway"; "slipway-ci" for a project) points at <server>/<name>.git;
a repository-local credential helper (and, over HTTPS, Slipway's CA) is set up for pushes.`,
    examples: ['slipway git:remote -a myapp', 'slipway git:remote -a myapp-staging -r staging', 'slipway git:remote -p shop'],
    maxArgs: 0,
    async run({ flags }) {
      const project = str(flags.project);
      const app = str(flags.app) ?? (project === undefined ? process.env.SLIPWAY_APP : undefined);
      if (project !== undefined && str(flags.app) !== undefined) throw new CliError('Give either -a APP or -p PROJECT, not both.');
      if (project === undefined && !app) throw new CliError('Which app? Run: slipway git:remote -a APP (or -p PROJECT for a CI project)');
      if (!(await insideRepo())) throw new CliError('Not inside a git repository. Run git init first, or cd into your repository.');
      const api = client();
      if (project !== undefined) return addProjectRemote(api, project, str(flags.remote));
      const info = await appNamed(api, app!);
      const remote = str(flags.remote) ?? 'slipway';
      const url = appGitUrl(api.url, info.name);
      const how = await setRemote(remote, url);
      await configureCredentialHelper(api.url);
      out(`Git remote ${remote} ${how === 'added' ? 'added' : 'updated'}: ${url}`);
    },
  },
  {
    name: 'git:credentials',
    summary: 'git credential helper (used by git, not by people)',
    usage: 'get|store|erase',
    description: `Implements the git credential helper protocol: for "get", reads protocol= and host=
lines and, if they name the logged-in Slipway server, answers username=slipway and
password=<API key>. "store" and "erase" are accepted and ignored.`,
    examples: ['printf "protocol=http\\nhost=127.0.0.1:5000\\n\\n" | slipway git:credentials get'],
    minArgs: 1,
    maxArgs: 1,
    async run({ args }) {
      const input = await readStdin();
      if (args[0] !== 'get') return;
      const fields = new Map<string, string>();
      for (const line of input.split('\n')) {
        const at = line.indexOf('=');
        if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).replace(/\r$/, ''));
      }
      let creds;
      try {
        creds = loadCredentials();
      } catch {
        return; // not logged in: let git try other helpers or fail
      }
      const server = new URL(creds.url);
      const protocol = server.protocol.replace(/:$/, '');
      if (fields.get('protocol') !== protocol || fields.get('host') !== server.host) return;
      out(`protocol=${protocol}`);
      out(`host=${server.host}`);
      out('username=slipway');
      out(`password=${creds.apiKey}`);
    },
  },
];
