// run, run:detached
import { str, strs, type CommandSpec, type Flags } from '../args.js';
import { appSession } from '../app-resolution.js';
import { ApiError, enc, type ApiClient } from '../client.js';
import { CliError, action, err, out, printJson, sleep } from '../output.js';
import { attach, withExitMarker } from '../rendezvous.js';

interface DynoCreated {
  name: string;
  attach_url?: string | null;
  size?: string;
}

/** `-e "K=V;K2=V2"` (repeatable) → {K: V, K2: V2}. */
export function parseEnv(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    for (const pair of value.split(';')) {
      if (!pair.trim()) continue;
      const at = pair.indexOf('=');
      if (at <= 0) throw new CliError(`${JSON.stringify(pair)} is not KEY=VALUE (use -e "K=V;K2=V2").`);
      env[pair.slice(0, at).trim()] = pair.slice(at + 1);
    }
  }
  return env;
}

function terminalEnv(): Record<string, string> {
  const env: Record<string, string> = { TERM: process.env.TERM || 'xterm-256color' };
  if (process.stdout.isTTY) {
    env.COLUMNS = String(process.stdout.columns);
    env.LINES = String(process.stdout.rows);
  }
  return env;
}

async function createDyno(api: ApiClient, app: string, body: Record<string, unknown>): Promise<DynoCreated> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.post<DynoCreated>(`/apps/${enc(app)}/dynos`, body);
    } catch (e) {
      // 409: the release is not ready yet; the heroku CLI retries twice too.
      if (e instanceof ApiError && e.status === 409 && attempt < 2) {
        await sleep(1000);
        continue;
      }
      throw e;
    }
  }
}

const runFlags = {
  size: { type: 'string' as const, short: 's', description: 'dyno size (e.g. Standard-2X)', valueName: 'SIZE' },
  env: { type: 'string' as const, short: 'e', multiple: true, description: 'environment for the command: "K=V;K2=V2"', valueName: 'K=V' },
};

function commandOf(args: string[]): string {
  if (args.length === 0) throw new CliError('Which command? Example: slipway run bash -a myapp');
  return args.join(' ');
}

function dynoBody(flags: Flags, command: string, attachMode: boolean): Record<string, unknown> {
  const size = str(flags.size);
  return {
    command,
    attach: attachMode,
    env: { ...(attachMode ? terminalEnv() : {}), ...parseEnv(strs(flags.env)) },
    ...(size ? { size } : {}),
  };
}

export const runCommands: CommandSpec[] = [
  {
    name: 'run',
    summary: 'run a one-off command in a new dyno, attached to your terminal',
    usage: 'COMMAND...',
    app: true,
    restIsArgs: true,
    flags: { ...runFlags, 'no-tty': { type: 'boolean', description: 'do not put the local terminal in raw mode' } },
    description: `Flags go before the command; everything from the command on is sent as is (use
-- to pass a command that starts with a dash). -a, -r, -s and -e KEY=VALUE may also follow the
command. Exits with the remote command's exit status.`,
    examples: ['slipway run bash -a myapp', 'slipway run -e "DEBUG=1" node scripts/migrate.js', "slipway run 'exit 3'; echo $?"],
    async run({ flags, args }) {
      const command = commandOf(args);
      const { api, app } = await appSession(flags);
      const dyno = await action(`Running \`${command}\` on ${app}`, async (suffix) => {
        const created = await createDyno(api, app, dynoBody(flags, withExitMarker(command), true));
        suffix(`up, ${created.name}${created.size ? ` (${created.size})` : ''}`);
        return created;
      }, '');
      if (!dyno.attach_url) throw new CliError(`The server did not return an attach URL for ${dyno.name}.`);
      return attach(api, dyno.attach_url, { raw: !flags['no-tty'] });
    },
  },
  {
    name: 'run:detached',
    summary: 'run a one-off command in the background; prints the dyno name',
    usage: 'COMMAND...',
    app: true,
    restIsArgs: true,
    flags: { ...runFlags, json: { type: 'boolean', description: 'print the raw API JSON' } },
    examples: ['slipway run:detached node scripts/cleanup.js -a myapp'],
    async run({ flags, args }) {
      const command = commandOf(args);
      const { api, app } = await appSession(flags);
      const dyno = await action(`Running \`${command}\` on ${app}`, async (suffix) => {
        const created = await createDyno(api, app, dynoBody(flags, command, false));
        suffix(`${created.name}${created.size ? ` (${created.size})` : ''}`);
        return created;
      });
      if (flags.json) return printJson(dyno);
      out(dyno.name);
      err(`Use slipway logs -a ${app} -d ${dyno.name} to view the output.`);
    },
  },
];
