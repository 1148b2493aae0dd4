// ci:vars, ci:vars:set, ci:vars:unset, ci:protect, ci:unprotect, ci:protected,
// ci:environments, ci:deployments — a CI project's settings. Masked values are never printed.
import { readFileSync } from 'node:fs';
import { str, type CommandSpec, type Flags } from '../args.js';
import { client } from '../app-resolution.js';
import { ApiError, enc } from '../client.js';
import { CliError, colour, heading, out, printJson, table, timeAndAgo } from '../output.js';

interface Variable {
  key: string;
  value: string | null;
  variable_type: string;
  protected: boolean;
  masked: boolean;
  raw: boolean;
  environment_scope: string;
}

interface ProtectedRef {
  name: string;
  /** Branches only. */
  allow_force_push?: boolean;
  created_at: string;
}

interface Deployment {
  id: number;
  ref: string;
  sha: string;
  status: string;
  action: string;
  deployment_tier: string;
  url: string | null;
  environment: { name: string };
  deployable: { id: number; name: string; pipeline: { id: number } };
  created_at: string;
}

interface Environment {
  name: string;
  state: string;
  tier: string;
  external_url: string | null;
  auto_stop_at: string | null;
  last_deployment: Deployment | null;
}

const PROJECT_FLAG = { project: { type: 'string' as const, short: 'p', description: 'the CI project', valueName: 'PROJECT' } };
const JSON_FLAG = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };
const ENV_FLAG = { env: { type: 'string' as const, short: 'e', description: 'environment scope: *, a name, or a pattern like review/* (default *)', valueName: 'SCOPE' } };
const REF_FLAGS = {
  branch: { type: 'string' as const, description: 'a branch name or wildcard (release/*)', valueName: 'BRANCH' },
  tag: { type: 'string' as const, description: 'a tag name or wildcard (v*)', valueName: 'TAG' },
};

function projectOf(flags: Flags): string {
  const project = str(flags.project) ?? process.env.SLIPWAY_PROJECT;
  if (!project) throw new CliError('Which project? Pass -p PROJECT (see: slipway projects).');
  return project;
}

function refOf(flags: Flags): { kind: 'branches' | 'tags'; name: string } {
  const branch = str(flags.branch);
  const tag = str(flags.tag);
  if ((branch === undefined) === (tag === undefined)) throw new CliError('Pass exactly one of --branch NAME or --tag NAME (wildcards such as release/* or v* are fine).');
  return branch !== undefined ? { kind: 'branches', name: branch } : { kind: 'tags', name: tag! };
}

/** KEY=VALUE, or KEY alone: the value is read from stdin (keeps secrets out of the process list). */
function assignments(args: string[]): Array<[string, string]> {
  const pairs = args.map((arg): [string, string | undefined] => {
    const eq = arg.indexOf('=');
    return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
  });
  const fromStdin = pairs.filter(([, v]) => v === undefined);
  if (fromStdin.length > 1) throw new CliError('Only one KEY may take its value from stdin; give the others as KEY=VALUE.');
  if (fromStdin.length === 1) {
    if (process.stdin.isTTY) throw new CliError(`No value for ${fromStdin[0][0]}: use KEY=VALUE, or pipe the value in (slipway ci:vars:set -p P ${fromStdin[0][0]} < file).`);
    const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    fromStdin[0][1] = value;
  }
  return pairs.map(([k, v]) => [k, v!]);
}

export const ciSettingsCommands: CommandSpec[] = [
  {
    name: 'ci:vars',
    summary: "list a project's CI/CD variables (masked values hidden)",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:vars -p shop'],
    async run({ flags }) {
      const project = projectOf(flags);
      const vars = await client().get<Variable[]>(`/projects/${enc(project)}/variables`);
      if (flags.json) return printJson(vars);
      if (vars.length === 0) return out(`${project} has no CI/CD variables. Set one with: slipway ci:vars:set -p ${project} KEY=VALUE`);
      heading(`${project} CI/CD variables`);
      table(
        // As GitLab shows them: the API's variable_type, and Expand = not raw.
        vars.map((v) => [v.key, v.masked ? colour.dim('[masked]') : (v.value ?? ''), v.environment_scope, String(v.protected), String(v.masked), v.variable_type, String(!v.raw)]),
        ['Key', 'Value', 'Environments', 'Protected', 'Masked', 'Type', 'Expand'],
      );
    },
  },
  {
    name: 'ci:vars:set',
    summary: 'set CI/CD variables of a project (replaces a key with the same environment scope)',
    usage: 'KEY=VALUE...',
    flags: {
      ...PROJECT_FLAG,
      ...ENV_FLAG,
      masked: { type: 'boolean', description: 'hide the value in job logs (8+ characters: letters, digits, + / = _ @ : . ~ -)' },
      protected: { type: 'boolean', description: 'only pipelines on protected branches and tags get it' },
      file: { type: 'boolean', description: 'a file variable: jobs get the path of a file holding the value' },
      raw: { type: 'boolean', description: 'never expand $ references in the value' },
    },
    minArgs: 1,
    description: 'KEY without =VALUE reads the value from stdin, which keeps it out of the process list.',
    examples: ['slipway ci:vars:set -p shop HEROKU_API_KEY=s3cr3t-value --masked --protected --env production', 'slipway ci:vars:set -p shop KUBECONFIG --file < kubeconfig.yml'],
    async run({ flags, args }) {
      const project = projectOf(flags);
      const api = client();
      const scope = str(flags.env) ?? '*';
      for (const [key, value] of assignments(args)) {
        const body = { key, value, masked: flags.masked === true, protected: flags.protected === true, raw: flags.raw === true, variable_type: flags.file ? 'file' : 'env_var', environment_scope: scope };
        try {
          await api.post(`/projects/${enc(project)}/variables`, body);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 409) throw e;
          await api.request('PUT', `/projects/${enc(project)}/variables/${enc(key)}?filter[environment_scope]=${enc(scope)}`, { body });
        }
        const notes = [flags.masked && 'masked', flags.protected && 'protected', flags.file && 'file', flags.raw && 'raw', scope !== '*' && `environments ${scope}`].filter(Boolean);
        out(`Set ${key} on ${project}${notes.length ? ` (${notes.join(', ')})` : ''}`);
      }
    },
  },
  {
    name: 'ci:vars:unset',
    summary: 'remove CI/CD variables from a project',
    usage: 'KEY...',
    flags: { ...PROJECT_FLAG, ...ENV_FLAG },
    minArgs: 1,
    examples: ['slipway ci:vars:unset -p shop HEROKU_API_KEY --env production'],
    async run({ flags, args }) {
      const project = projectOf(flags);
      const scope = str(flags.env);
      const api = client();
      for (const key of args) {
        await api.delete(`/projects/${enc(project)}/variables/${enc(key)}${scope !== undefined ? `?filter[environment_scope]=${enc(scope)}` : ''}`);
        out(`Removed ${key} from ${project}${scope !== undefined ? ` (environments ${scope})` : ''}`);
      }
    },
  },
  {
    name: 'ci:protected',
    summary: "list a project's protected branches and tags",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:protected -p shop'],
    async run({ flags }) {
      const project = projectOf(flags);
      const api = client();
      const [branches, tags] = await Promise.all([api.get<ProtectedRef[]>(`/projects/${enc(project)}/protected-branches`), api.get<ProtectedRef[]>(`/projects/${enc(project)}/protected-tags`)]);
      if (flags.json) return printJson({ branches, tags });
      heading(`${project} protected refs`);
      if (branches.length + tags.length === 0) return out('Nothing is protected.');
      table([...branches.map((b) => ['branch', b.name, b.allow_force_push ? 'force push allowed' : '']), ...tags.map((t) => ['tag', t.name, ''])]);
    },
  },
  {
    name: 'ci:protect',
    summary: 'protect a branch or tag (or a wildcard): no deletion or force push, protected variables',
    flags: {
      ...PROJECT_FLAG,
      ...REF_FLAGS,
      'allow-force-push': { type: 'boolean', description: 'let pushes rewrite the branch (also for a branch already protected)' },
      'no-force-push': { type: 'boolean', description: 'refuse force pushes again (the default)' },
    },
    maxArgs: 0,
    examples: ['slipway ci:protect -p shop --branch main', "slipway ci:protect -p shop --tag 'v*'", 'slipway ci:protect -p shop --branch main --allow-force-push'],
    async run({ flags }) {
      const project = projectOf(flags);
      const ref = refOf(flags);
      const allow = flags['allow-force-push'] === true;
      const deny = flags['no-force-push'] === true;
      if (allow && deny) throw new CliError('Pass --allow-force-push or --no-force-push, not both.');
      if ((allow || deny) && ref.kind === 'tags') throw new CliError('Protected tags never move: --allow-force-push and --no-force-push apply to branches.');
      const api = client();
      const force = allow || deny ? { allow_force_push: allow } : {};
      const note = allow ? ' (force pushes allowed)' : deny ? ' (no force pushes)' : '';
      try {
        await api.post(`/projects/${enc(project)}/protected-${ref.kind}`, { name: ref.name, ...force });
      } catch (e) {
        // Already protected: change its force push setting when one was asked for.
        if (!(e instanceof ApiError) || e.status !== 409 || !(allow || deny)) throw e;
        await api.patch(`/projects/${enc(project)}/protected-branches/${enc(ref.name)}`, force);
        return out(`Updated protected branch ${ref.name} on ${project}${note}`);
      }
      out(`Protected ${ref.kind === 'branches' ? 'branch' : 'tag'} ${ref.name} on ${project}${note}`);
    },
  },
  {
    name: 'ci:unprotect',
    summary: 'stop protecting a branch or tag (name as it was protected)',
    flags: { ...PROJECT_FLAG, ...REF_FLAGS },
    maxArgs: 0,
    examples: ['slipway ci:unprotect -p shop --branch main'],
    async run({ flags }) {
      const project = projectOf(flags);
      const ref = refOf(flags);
      await client().delete(`/projects/${enc(project)}/protected-${ref.kind}/${enc(ref.name)}`);
      out(`Unprotected ${ref.kind === 'branches' ? 'branch' : 'tag'} ${ref.name} on ${project}`);
    },
  },
  {
    name: 'ci:environments',
    summary: "list a project's environments with their last deployment",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    maxArgs: 0,
    examples: ['slipway ci:environments -p shop'],
    async run({ flags }) {
      const project = projectOf(flags);
      const envs = await client().get<Environment[]>(`/projects/${enc(project)}/environments`);
      if (flags.json) return printJson(envs);
      if (envs.length === 0) return out(`${project} has no environments yet: they appear when a job with environment: runs.`);
      heading(`${project} environments`);
      table(
        envs.map((e) => [e.name, e.state, e.tier, e.external_url ?? '', e.last_deployment ? `#${e.last_deployment.id} ${e.last_deployment.ref}@${e.last_deployment.sha.slice(0, 8)}` : '', e.auto_stop_at ? `stops ${timeAndAgo(e.auto_stop_at).replace(/ \(.*\)$/, '')}` : '']),
        ['Environment', 'State', 'Tier', 'URL', 'Last deployment', 'Auto stop'],
      );
    },
  },
  {
    name: 'ci:deployments',
    summary: "list a project's deployments, newest first",
    flags: { ...PROJECT_FLAG, ...JSON_FLAG, env: { type: 'string', short: 'e', description: 'only this environment', valueName: 'NAME' } },
    maxArgs: 0,
    examples: ['slipway ci:deployments -p shop --env production'],
    async run({ flags }) {
      const project = projectOf(flags);
      const env = str(flags.env);
      const list = await client().get<Deployment[]>(`/projects/${enc(project)}/deployments${env ? `?environment=${enc(env)}` : ''}`);
      if (flags.json) return printJson(list);
      if (list.length === 0) return out(`${project} has no deployments${env ? ` to ${env}` : ''} yet.`);
      heading(`${project} deployments${env ? ` to ${env}` : ''}`);
      table(
        list.map((d) => [`#${d.id}`, d.environment.name, d.action, d.status, d.ref, d.sha.slice(0, 8), `job #${d.deployable.id} ${d.deployable.name}`, timeAndAgo(d.created_at)]),
        ['ID', 'Environment', 'Action', 'Status', 'Ref', 'Commit', 'Job', 'Created'],
      );
    },
  },
];
