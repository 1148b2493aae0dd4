// pipelines:connect, pipelines:disconnect, pipelines:autodeploy, pipelines:deploys, pipelines:tests
import { str, type CommandSpec } from '../args.js';
import { client } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, colour, heading, out, printJson, table, timeAndAgo } from '../output.js';

interface Connection {
  pipeline: { id: string; name: string };
  project: { id: string; name: string } | null;
}

interface Rule {
  stage: string;
  branch: string;
  wait_for_ci: boolean;
}

interface AutoDeploy {
  stage: string;
  branch: string;
  sha: string;
  status: string;
  message: string | null;
  created_at: string;
}

interface TestRun {
  ref: string;
  sha: string;
  status: string;
  app_name: string;
  exit_code: number | null;
  message: string | null;
  output: string;
  created_at: string;
}

const jsonFlag = { json: { type: 'boolean' as const, description: 'print the raw API JSON' } };
const pipelinePath = async (api: ApiClient, name: string) => `/pipelines/${(await api.get<{ id: string }>(`/pipelines/${enc(name)}`)).id}`;

const statusColour = (status: string): string =>
  ['succeeded', 'success'].includes(status) ? colour.green(status) : ['failed', 'errored'].includes(status) ? colour.red(status) : ['skipped'].includes(status) ? colour.dim(status) : colour.yellow(status);

function printRules(pipeline: string, rules: Rule[]): void {
  if (rules.length === 0) return out(`${pipeline} does not auto-deploy. Set it up with: slipway pipelines:autodeploy ${pipeline} --branch main --stage staging`);
  table(
    rules.map((r) => [r.branch, r.stage, r.wait_for_ci ? 'after CI passes' : 'on every push']),
    ['branch', 'stage', 'when'],
  );
}

export const flowCommands: CommandSpec[] = [
  {
    name: 'pipelines:connect',
    summary: 'connect a pipeline to a CI project (auto-deploy and review apps follow its branches)',
    usage: 'PIPELINE',
    flags: { project: { type: 'string', description: 'the CI project (slipway projects:create)', valueName: 'PROJECT' }, ...jsonFlag },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:connect shop --project shop'],
    async run({ flags, args }) {
      const project = str(flags.project);
      if (!project) throw new CliError('--project is required.\nUsage: slipway pipelines:connect PIPELINE --project PROJECT');
      const api = client();
      const connection = await api.patch<Connection>(`${await pipelinePath(api, args[0])}/connection`, { project });
      if (flags.json) return printJson(connection);
      out(`Connected ${connection.pipeline.name} to the project ${connection.project?.name}.`);
      out(`Next: slipway pipelines:autodeploy ${connection.pipeline.name} --branch main --stage staging, or slipway reviewapps:enable ${connection.pipeline.name}`);
    },
  },
  {
    name: 'pipelines:disconnect',
    summary: 'disconnect a pipeline from its CI project (auto-deploy and review apps stop)',
    usage: 'PIPELINE',
    flags: jsonFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:disconnect shop'],
    async run({ flags, args }) {
      const api = client();
      const connection = await api.delete<Connection>(`${await pipelinePath(api, args[0])}/connection`);
      if (flags.json) return printJson(connection);
      out(`Disconnected ${connection.pipeline.name}; its apps stay as they are.`);
    },
  },
  {
    name: 'pipelines:autodeploy',
    summary: 'deploy a branch of the connected project to a stage on every push (or after CI passes)',
    usage: 'PIPELINE',
    flags: {
      branch: { type: 'string', short: 'b', description: 'the branch to follow', valueName: 'BRANCH' },
      stage: { type: 'string', short: 's', description: 'the stage to deploy to (development, staging, production)', valueName: 'STAGE' },
      'wait-for-ci': { type: 'boolean', description: 'deploy a commit only once its CI pipeline succeeded (the default)' },
      'no-wait-for-ci': { type: 'boolean', description: 'deploy every push at once' },
      off: { type: 'boolean', description: 'stop auto-deploying to --stage (or to every stage)' },
      ...jsonFlag,
    },
    minArgs: 1,
    maxArgs: 1,
    description:
      'The commit is built once, on one app of the stage; the other apps of the stage get the same slug.\n' +
      'Without a .gitlab-ci.yml, the app.json test script (environments.test.scripts.test) is the CI.\n' +
      'Without --branch or --off, shows the rules.',
    examples: ['slipway pipelines:autodeploy shop --branch main --stage staging', 'slipway pipelines:autodeploy shop --stage staging --off', 'slipway pipelines:autodeploy shop'],
    async run({ flags, args }) {
      if (flags['wait-for-ci'] && flags['no-wait-for-ci']) throw new CliError('Use only one of --wait-for-ci and --no-wait-for-ci.');
      const api = client();
      const path = await pipelinePath(api, args[0]);
      const stage = str(flags.stage);
      const branch = str(flags.branch);
      if (flags.off) {
        const rules = stage ? [{ stage }] : await api.get<Rule[]>(`${path}/auto-deploy-rules`);
        for (const r of rules) await api.delete(`${path}/auto-deploy-rules/${enc(r.stage)}`);
        return out(rules.length ? `${args[0]} no longer auto-deploys to ${rules.map((r) => r.stage).join(', ')}.` : `${args[0]} did not auto-deploy anywhere.`);
      }
      if (branch || stage) {
        if (!branch || !stage) throw new CliError('Give both --branch and --stage.\nUsage: slipway pipelines:autodeploy PIPELINE --branch BRANCH --stage STAGE');
        const rule = (await api.request<Rule>('PUT', `${path}/auto-deploy-rules/${enc(stage)}`, { body: { branch, wait_for_ci: !flags['no-wait-for-ci'] } })).body;
        if (flags.json) return printJson(rule);
        return out(`${args[0]} now deploys ${rule.branch} to ${rule.stage} ${rule.wait_for_ci ? 'after CI passes' : 'on every push'}.`);
      }
      const rules = await api.get<Rule[]>(`${path}/auto-deploy-rules`);
      if (flags.json) return printJson(rules);
      printRules(args[0], rules);
    },
  },
  {
    name: 'pipelines:deploys',
    summary: "list a pipeline's auto-deploys, newest first, with their CI gate and outcome",
    usage: 'PIPELINE',
    flags: jsonFlag,
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:deploys shop'],
    async run({ flags, args }) {
      const api = client();
      const deploys = await api.get<AutoDeploy[]>(`${await pipelinePath(api, args[0])}/auto-deploys`);
      if (flags.json) return printJson(deploys);
      if (deploys.length === 0) return out(`${args[0]} has not auto-deployed anything yet.`);
      heading(`${args[0]} auto-deploys`);
      table(
        deploys.map((d) => [d.sha.slice(0, 7), `${d.branch} → ${d.stage}`, statusColour(d.status), timeAndAgo(d.created_at), d.message ?? '']),
        ['commit', 'branch → stage', 'status', 'when', 'message'],
      );
    },
  },
  {
    name: 'pipelines:tests',
    summary: 'list the app.json test runs (Heroku CI) of the connected project, newest first',
    usage: 'PIPELINE',
    flags: { ...jsonFlag, output: { type: 'boolean', description: 'print the output of the newest run' } },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway pipelines:tests shop', 'slipway pipelines:tests shop --output'],
    async run({ flags, args }) {
      const api = client();
      const runs = await api.get<TestRun[]>(`${await pipelinePath(api, args[0])}/test-runs`);
      if (flags.json) return printJson(runs);
      if (runs.length === 0) return out(`No test runs for ${args[0]}: they run for commits an auto-deploy waits on, when the project has no .gitlab-ci.yml but app.json has environments.test.scripts.test.`);
      if (flags.output) return out(runs[0].output.trimEnd());
      table(
        runs.map((r) => [r.sha.slice(0, 7), r.ref, statusColour(r.status), timeAndAgo(r.created_at), r.message ?? '']),
        ['commit', 'branch', 'status', 'when', 'message'],
      );
    },
  },
];
