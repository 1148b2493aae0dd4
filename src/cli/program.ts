// The `slipway` command-line client: finds the command, parses its flags, runs it, and turns
// errors into a message on stderr and exit status 1. main.ts loads it for every command but
// the local CI ones.
import { readFileSync } from 'node:fs';
import { commandHelp, overviewHelp, parseCommandArgs, type CommandSpec } from './args.js';
import { ApiError } from './client.js';
import { currentUrl, loadCredentials } from './credentials.js';
import { CliError, err, out } from './output.js';
import { exitWhenFlushed, exitOnClosedStdout, reportError } from './exit.js';
import { COMMAND_ENTRIES, loadCommand, type CommandEntry } from './registry.js';
import { installFile } from '../core/install-root.js';

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(installFile(import.meta.url, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const helpCommand: CommandSpec = {
  name: 'help',
  summary: 'show help for slipway or for one command',
  usage: '[COMMAND]',
  maxArgs: 1,
  examples: ['slipway help', 'slipway help config:set'],
  async run({ args }) {
    if (!args[0]) return out(overviewHelp(COMMANDS, version()));
    const spec = await find(args[0]);
    if (!spec) throw unknownCommand(args[0]);
    out(commandHelp(spec));
  },
};

const versionCommand: CommandSpec = {
  name: 'version',
  summary: 'show the slipway CLI version',
  maxArgs: 0,
  async run() {
    out(`slipway/${version()} ${process.platform}-${process.arch} node-${process.version}`);
  },
};

/** Every command, by name and summary; a command's module is imported when it is used. */
const BUILTIN: CommandSpec[] = [helpCommand, versionCommand];
export const COMMANDS: ReadonlyArray<Pick<CommandEntry, 'name' | 'aliases' | 'summary'>> = [...COMMAND_ENTRIES, ...BUILTIN];

async function find(name: string): Promise<CommandSpec | undefined> {
  const builtin = BUILTIN.find((c) => c.name === name);
  if (builtin) return builtin;
  const entry = COMMAND_ENTRIES.find((c) => c.name === name || c.aliases?.includes(name));
  return entry && loadCommand(entry);
}

function unknownCommand(name: string): CliError {
  const close = COMMANDS.filter((c) => c.name.startsWith(name.split(':')[0]) || name.startsWith(c.name.split(':')[0])).map((c) => c.name);
  return new CliError(`${JSON.stringify(name)} is not a slipway command.${close.length ? ` Did you mean: ${close.slice(0, 5).join(', ')}?` : ''}\nSee: slipway help`);
}

/** Adds what to do next to errors that need it (rejected key, unknown app). */
function explain(e: ApiError): string {
  if (e.status === 401) {
    let where = 'your stored credentials';
    let url = currentUrl();
    try {
      const creds = loadCredentials();
      where = creds.keySource === 'env' ? 'SLIPWAY_API_KEY' : creds.keySource === 'job' ? 'CI_JOB_TOKEN' : 'your stored credentials';
      url = creds.url;
    } catch {
      /* keep the defaults */
    }
    if (/slipway login/.test(e.message)) return e.message;
    return `${e.message}\nThe API key in ${where} was rejected${url ? ` by ${url}` : ''}. Run: slipway login${url ? ` --url ${url}` : ''}`;
  }
  // The server names what it could not find; the hint depends on that, not on the wording.
  const resource = e.status === 404 && e.id === 'not_found' ? (e.body as { resource?: unknown } | undefined)?.resource : undefined;
  if (resource === 'app') return `${e.message} Check the name with: slipway apps`;
  if (resource === 'formation') return `${e.message} See the process types with: slipway ps:scale (no arguments), or the dynos with: slipway ps`;
  return e.message;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    out(overviewHelp(COMMANDS, version()));
    return 0;
  }
  if (first === '--version' || first === '-v') return (await versionCommand.run({ flags: {}, args: [], spec: versionCommand })) ?? 0;
  const spec = await find(first);
  if (!spec) throw unknownCommand(first);
  const { flags, args } = parseCommandArgs(spec, rest);
  if (flags.help) {
    out(commandHelp(spec));
    return 0;
  }
  return (await spec.run({ flags, args, spec })) ?? 0;
}

function report(e: unknown): number {
  if (e instanceof ApiError) {
    err(`Error: ${explain(e)}`);
    return e.exitCode;
  }
  return reportError(e);
}

/** Runs the command line `argv` (without node and the script) and exits with its status. */
export function runCli(argv: string[]): void {
  exitOnClosedStdout();
  main(argv).then(
    (code) => exitWhenFlushed(code),
    (e) => exitWhenFlushed(report(e)),
  );
}
