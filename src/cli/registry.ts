// The command registry: every command's name, aliases and one-line summary, and the module
// that defines it. `slipway help` lists commands from here; a command's module (and whatever
// it imports: tar, the CI engine…) is loaded only when that command runs or its help is shown.
// A new command module gets a loader and its entries here (not an import in program.ts);
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
const ciControl = async () => (await import('./commands/ci-control.js')).ciControlCommands;
const ciSettings = async () => (await import('./commands/ci-settings.js')).ciSettingsCommands;
const ciSchedules = async () => (await import('./commands/ci-schedules.js')).ciScheduleCommands;
const ciTriggers = async () => (await import('./commands/ci-triggers.js')).ciTriggerCommands;
const pipelines = async () => (await import('./commands/pipelines.js')).pipelinesCommands;
const pipelinesPromote = async () => (await import('./commands/pipelines-promote.js')).pipelinesPromoteCommands;
const mergeRequests = async () => (await import('./commands/merge-requests.js')).mergeRequestCommands;
const flow = async () => (await import('./commands/flow.js')).flowCommands;
const reviewApps = async () => (await import('./commands/reviewapps.js')).reviewAppsCommands;

/** In the order `slipway help` lists them. */
export const COMMAND_ENTRIES: CommandEntry[] = [
  { name: 'login', summary: 'log in to a Slipway server with an API key', load: auth },
  { name: 'logout', summary: 'forget the stored API key', load: auth },
  { name: 'auth:whoami', aliases: ['whoami'], summary: 'show the email of the logged-in account', load: auth },
  { name: 'auth:token', summary: 'print the API key in use (for git pushes, curl or HEROKU_API_KEY)', load: auth },
  { name: 'accounts:create', summary: 'create an account and its API key (admins only)', load: auth },
  { name: 'apps', aliases: ['apps:list'], summary: 'list your apps', load: apps },
  { name: 'apps:create', aliases: ['create'], summary: 'create an app (and a git remote for it when run in a repository)', load: apps },
  { name: 'apps:info', aliases: ['info'], summary: 'show an app', load: apps },
  { name: 'apps:destroy', aliases: ['destroy'], summary: 'permanently destroy an app', load: apps },
  { name: 'maintenance', summary: 'show whether maintenance mode is on', load: apps },
  { name: 'maintenance:on', summary: 'turn maintenance mode on', load: apps },
  { name: 'maintenance:off', summary: 'turn maintenance mode off', load: apps },
  { name: 'git:remote', summary: 'add (or update) a git remote for an app or a CI project', load: git },
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
  { name: 'pipelines', aliases: ['pipelines:list'], summary: 'list the pipelines you can see', load: pipelines },
  { name: 'pipelines:create', summary: 'create a pipeline with an app in it', load: pipelines },
  { name: 'pipelines:add', summary: 'add an app to a pipeline at a stage', load: pipelines },
  { name: 'pipelines:remove', summary: 'remove an app from its pipeline (the app itself stays)', load: pipelines },
  { name: 'pipelines:info', summary: "show a pipeline's stages and apps with their release, commit and status", load: pipelines },
  { name: 'pipelines:require-approval', summary: 'require (or stop requiring) approval for promotions into a stage', load: pipelines },
  { name: 'pipelines:promote', summary: "promote an app's current release to the apps of the next stage (same slug, no rebuild)", load: pipelinesPromote },
  { name: 'pipelines:approve', summary: 'approve a promotion that waits for approval; it is then released', load: pipelinesPromote },
  { name: 'pipelines:reject', summary: 'reject (or cancel) a promotion that waits for approval; nothing is released', load: pipelinesPromote },
  { name: 'pipelines:promotions', summary: "list a pipeline's promotions, newest first, with who asked and who approved", load: pipelinesPromote },
  { name: 'pipelines:diff', summary: "list the commits between an app's release and the next stage's apps", load: pipelinesPromote },
  { name: 'ci', summary: 'check and plan the .gitlab-ci.yml pipeline of a working tree', load: ci },
  { name: 'projects', aliases: ['projects:list'], summary: 'list your CI projects', load: projects },
  { name: 'projects:create', summary: 'create a CI project (and a git remote for it when run in a repository)', load: projects },
  { name: 'projects:remote', summary: 'add (or update) the git remote of a CI project in this repository', load: projects },
  { name: 'ci:pipelines', summary: "list a project's pipelines, newest first", load: projects },
  { name: 'ci:pipelines:create', aliases: ['ci:pipelines:run'], summary: "run a pipeline for a branch or tag's current commit, with variables and inputs", load: projects },
  { name: 'ci:pipeline', summary: "show a pipeline's jobs by stage, with their status", load: projects },
  { name: 'ci:job:log', summary: "print a job's log (with --follow, until the job ends)", load: projects },
  { name: 'ci:play', summary: 'run a manual job, or a delayed job now', load: ciControl },
  { name: 'ci:retry', summary: 'retry a finished job (a new job), or the failed and canceled jobs of a pipeline', load: ciControl },
  { name: 'ci:cancel', summary: 'cancel a pipeline (or one job with --job): running jobs are killed', load: ciControl },
  { name: 'ci:artifacts', summary: "download a job's artifacts (a .tar.gz)", load: ciControl },
  { name: 'ci:vars', summary: "list a project's CI/CD variables (masked values hidden)", load: ciSettings },
  { name: 'ci:vars:set', summary: 'set CI/CD variables of a project (replaces a key with the same environment scope)', load: ciSettings },
  { name: 'ci:vars:unset', summary: 'remove CI/CD variables from a project', load: ciSettings },
  { name: 'ci:protected', summary: "list a project's protected branches and tags", load: ciSettings },
  { name: 'ci:protect', summary: 'protect a branch or tag (or a wildcard): no deletion or force push, protected variables', load: ciSettings },
  { name: 'ci:unprotect', summary: 'stop protecting a branch or tag (name as it was protected)', load: ciSettings },
  { name: 'ci:environments', summary: "list a project's environments with their last deployment", load: ciSettings },
  { name: 'ci:deployments', summary: "list a project's deployments, newest first", load: ciSettings },
  { name: 'ci:schedules', summary: "list a project's pipeline schedules, or show one", load: ciSchedules },
  { name: 'ci:schedules:create', summary: "run a branch's pipeline on a schedule (cron), with variables and inputs", load: ciSchedules },
  { name: 'ci:schedules:update', summary: 'change a pipeline schedule (cron, ref, time zone, variables, inputs, active)', load: ciSchedules },
  { name: 'ci:schedules:delete', summary: 'delete a pipeline schedule (its pipelines stay)', load: ciSchedules },
  { name: 'ci:schedules:run', aliases: ['ci:schedules:play'], summary: 'run a pipeline schedule now, as you (its timed runs stay as they are)', load: ciSchedules },
  { name: 'ci:triggers', summary: "list a project's pipeline trigger tokens (their values are shown only when made)", load: ciTriggers },
  { name: 'ci:triggers:create', summary: 'make a pipeline trigger token: POST it with a ref to run a pipeline (CI_PIPELINE_SOURCE=trigger)', load: ciTriggers },
  { name: 'ci:triggers:delete', summary: 'delete a pipeline trigger token (it stops working at once)', load: ciTriggers },
  { name: 'mr:create', summary: 'open a merge request from a source branch into a target branch', load: mergeRequests },
  { name: 'mr:list', summary: "list a project's merge requests (open ones unless --state says otherwise)", load: mergeRequests },
  { name: 'mr:show', summary: 'show a merge request with its latest pipeline and review app', load: mergeRequests },
  { name: 'mr:merge', summary: 'merge a merge request into its target branch (runs the target branch pipeline)', load: mergeRequests },
  { name: 'mr:close', summary: 'close a merge request without merging it', load: mergeRequests },
  { name: 'mr:reopen', summary: 'reopen a closed merge request (runs its pipeline again)', load: mergeRequests },
  { name: 'pipelines:connect', summary: 'connect a pipeline to a CI project (auto-deploy and review apps follow its branches)', load: flow },
  { name: 'pipelines:disconnect', summary: 'disconnect a pipeline from its CI project (auto-deploy and review apps stop)', load: flow },
  { name: 'pipelines:autodeploy', summary: 'deploy a branch of the connected project to a stage on every push (or after CI passes)', load: flow },
  { name: 'pipelines:deploys', summary: "list a pipeline's auto-deploys, newest first, with their CI gate and outcome", load: flow },
  { name: 'pipelines:tests', summary: 'list the app.json test runs (Heroku CI) of the connected project, newest first', load: flow },
  { name: 'reviewapps:enable', summary: 'enable review apps on a pipeline connected to a CI project', load: reviewApps },
  { name: 'reviewapps:disable', summary: 'disable review apps on a pipeline (existing review apps stay until destroyed)', load: reviewApps },
  { name: 'reviewapps:list', aliases: ['reviewapps'], summary: "list a pipeline's review apps with their branch, merge request, status and URL", load: reviewApps },
  { name: 'reviewapps:create', summary: 'create a review app for a branch of the connected project (its current tip)', load: reviewApps },
  { name: 'reviewapps:destroy', summary: 'destroy a review app (by its app name or review app id)', load: reviewApps },
];

/** The module loaders, one per command module (for checks that load them all). */
export const COMMAND_MODULES = [auth, apps, git, config, ps, releases, logs, run, deploy, pipelines, pipelinesPromote, ci, projects, ciControl, ciSettings, ciSchedules, ciTriggers, mergeRequests, flow, reviewApps];

/** Loads the spec of a registered command. */
export async function loadCommand(entry: CommandEntry): Promise<CommandSpec> {
  const spec = (await entry.load()).find((c) => c.name === entry.name);
  if (!spec) throw new Error(`slipway: the command module for ${entry.name} does not define it`);
  return spec;
}
