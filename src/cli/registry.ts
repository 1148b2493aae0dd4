// The command registry: every command's name, aliases and one-line summary, and the module
// that defines it. `slipway help` lists commands from here; a command's module (and whatever
// it imports: tar, the CI engine…) is loaded only when that command runs or its help is shown.
// A new command module gets a loader and its entries here (not an import in main.ts);
// test/unit/cli-registry.test.ts keeps this list in step with the modules' CommandSpecs.
import type { CommandSpec } from './args.js';

export interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  load(): Promise<CommandSpec[]>;
}

const auth = async () => (await import('./commands/auth.js')).authCommands;
const apps = async () => (await import('./commands/apps.js')).appsCommands;
const git = async () => (await import('./commands/git.js')).gitCommands;
const config = async () => (await import('./commands/config.js')).configCommands;
const ps = async () => (await import('./commands/ps.js')).psCommands;
const releases = async () => (await import('./commands/releases.js')).releasesCommands;
const logs = async () => (await import('./commands/logs.js')).logsCommands;
const run = async () => (await import('./commands/run.js')).runCommands;
const deploy = async () => (await import('./commands/deploy.js')).deployCommands;
const ci = async () => (await import('./commands/ci.js')).ciCommands;
const projects = async () => (await import('./commands/projects.js')).projectsCommands;

/** In the order `slipway help` lists them. */
export const COMMAND_ENTRIES: CommandEntry[] = [
  { name: 'login', summary: 'log in to a Slipway server with an API key', load: auth },
  { name: 'logout', summary: 'forget the stored API key', load: auth },
  { name: 'auth:whoami', aliases: ['whoami'], summary: 'show the email of the logged-in account', load: auth },
  { name: 'accounts:create', summary: 'create an account and its API key (admins only)', load: auth },
  { name: 'apps', aliases: ['apps:list'], summary: 'list your apps', load: apps },
  { name: 'apps:create', aliases: ['create'], summary: 'create an app (and a git remote for it when run in a repository)', load: apps },
  { name: 'apps:info', aliases: ['info'], summary: 'show an app', load: apps },
  { name: 'apps:destroy', aliases: ['destroy'], summary: 'permanently destroy an app', load: apps },
  { name: 'maintenance', summary: 'show whether maintenance mode is on', load: apps },
  { name: 'maintenance:on', summary: 'turn maintenance mode on', load: apps },
  { name: 'maintenance:off', summary: 'turn maintenance mode off', load: apps },
  { name: 'git:remote', summary: 'add (or update) a git remote for an app', load: git },
  { name: 'git:credentials', summary: 'git credential helper (used by git, not by people)', load: git },
  { name: 'config', aliases: ['config:list'], summary: 'show all config vars of an app', load: config },
  { name: 'config:get', summary: 'print the value of one config var', load: config },
  { name: 'config:set', aliases: ['config:add'], summary: 'set config vars (creates a release and restarts the dynos)', load: config },
  { name: 'config:unset', aliases: ['config:remove'], summary: 'remove config vars (creates a release and restarts the dynos)', load: config },
  { name: 'ps', aliases: ['ps:list', 'dynos'], summary: "list an app's dynos", load: ps },
  { name: 'ps:scale', aliases: ['scale'], summary: 'scale process types (or show the formation)', load: ps },
  { name: 'ps:restart', aliases: ['restart'], summary: 'restart one dyno, a process type, or all dynos', load: ps },
  { name: 'ps:stop', aliases: ['stop'], summary: 'stop one dyno or all dynos of a type', load: ps },
  { name: 'releases', aliases: ['releases:list'], summary: "list an app's releases, newest first", load: releases },
  { name: 'releases:info', summary: 'show one release (default: the newest) and its config vars', load: releases },
  { name: 'releases:output', summary: "show a release's release-phase output", load: releases },
  { name: 'rollback', aliases: ['releases:rollback'], summary: 'roll back to an earlier release (default: the one before the current)', load: releases },
  { name: 'logs', summary: "show an app's recent logs (or follow them with --tail)", load: logs },
  { name: 'run', summary: 'run a one-off command in a new dyno, attached to your terminal', load: run },
  { name: 'run:detached', summary: 'run a one-off command in the background; prints the dyno name', load: run },
  { name: 'deploy', summary: 'build and release the working tree through the build API (no git push needed)', load: deploy },
  { name: 'ci', summary: 'check and plan the .gitlab-ci.yml pipeline of a working tree', load: ci },
  { name: 'projects', aliases: ['projects:list'], summary: 'list your CI projects', load: projects },
  { name: 'projects:create', summary: 'create a CI project: pushes to its git URL run .gitlab-ci.yml', load: projects },
  { name: 'ci:pipelines', summary: "list a project's pipelines, newest first", load: projects },
  { name: 'ci:pipeline', summary: "show a pipeline's jobs by stage, with their status", load: projects },
  { name: 'ci:job:log', summary: "print a job's log (with --follow, until the job ends)", load: projects },
];

/** The module loaders, one per command module (for checks that load them all). */
export const COMMAND_MODULES = [auth, apps, git, config, ps, releases, logs, run, deploy, ci, projects];

/** Loads the spec of a registered command. */
export async function loadCommand(entry: CommandEntry): Promise<CommandSpec> {
  const spec = (await entry.load()).find((c) => c.name === entry.name);
  if (!spec) throw new Error(`slipway: the command module for ${entry.name} does not define it`);
  return spec;
}
