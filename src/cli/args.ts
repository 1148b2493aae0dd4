// Command specs, argument parsing (node:util parseArgs) and help text.
import { parseArgs } from 'node:util';
import { CliError } from './output.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help: `--app APP`. */
  valueName?: string;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  flags: Flags;
  args: string[];
  spec: CommandSpec;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  summary: string;
  /** Argument part of the usage line, e.g. `[NAME]` or `KEY=VALUE...`. */
  usage?: string;
  description?: string;
  examples?: string[];
  flags?: Record<string, FlagSpec>;
  /** Adds -a/--app and -r/--remote. */
  app?: boolean;
  /** Everything from the first positional on is an argument (for `run CMD -x`). */
  restIsArgs?: boolean;
  minArgs?: number;
  maxArgs?: number;
  run(ctx: CommandContext): Promise<number | void>;
}

export const APP_FLAGS: Record<string, FlagSpec> = {
  app: { type: 'string', short: 'a', description: 'app to run the command against', valueName: 'APP' },
  remote: { type: 'string', short: 'r', description: 'git remote of the app to use', valueName: 'REMOTE' },
};

const HELP_FLAG: Record<string, FlagSpec> = { help: { type: 'boolean', short: 'h', description: 'show help for this command' } };

export function allFlags(spec: CommandSpec): Record<string, FlagSpec> {
  return { ...(spec.app ? APP_FLAGS : {}), ...(spec.flags ?? {}), ...HELP_FLAG };
}

function parseOptions(spec: CommandSpec) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(allFlags(spec))) {
    options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  return options;
}

/** Parses argv for one command. Throws a CliError naming the bad flag and the help command. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): { flags: Flags; args: string[] } {
  const options = parseOptions(spec);
  let head = argv;
  let rest: string[] = [];
  if (spec.restIsArgs) {
    // Find the first positional; everything from there on belongs to the remote command.
    const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
    const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
    if (first) {
      head = argv.slice(0, first.index);
      rest = argv.slice(first.kind === 'option-terminator' ? first.index + 1 : first.index);
    }
  }
  if (spec.restIsArgs) {
    // `run echo hi -a myapp`: app/remote/size/env flags may also trail the command.
    const all = allFlags(spec);
    const trailing = ['app', 'remote', 'size', 'env'].filter((n) => all[n]);
    const names = new Map<string, string>();
    for (const n of trailing) {
      names.set(`--${n}`, n);
      if (all[n].short) names.set(`-${all[n].short}`, n);
    }
    while (rest.length >= 3) {
      const name = names.get(rest[rest.length - 2]);
      const value = rest[rest.length - 1];
      if (!name || (name === 'env' && !/^[A-Za-z_]\w*=/.test(value))) break;
      head = [...head, rest[rest.length - 2], value];
      rest = rest.slice(0, -2);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, strict: true, allowPositionals: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new CliError(`${msg}\nSee: slipway help ${spec.name}`);
  }
  const args = [...parsed.positionals, ...rest];
  const flags = parsed.values as Flags;
  if (flags.help) return { flags, args };
  if (spec.minArgs !== undefined && args.length < spec.minArgs) {
    throw new CliError(`Missing argument: slipway ${spec.name} ${spec.usage ?? ''}`.trimEnd() + `\nSee: slipway help ${spec.name}`);
  }
  if (spec.maxArgs !== undefined && args.length > spec.maxArgs) {
    throw new CliError(`Unexpected argument ${JSON.stringify(args[spec.maxArgs])}.\nUsage: slipway ${spec.name} ${spec.usage ?? ''}`.trimEnd());
  }
  return { flags, args };
}

export const str = (v: Flags[string]): string | undefined => (typeof v === 'string' ? v : undefined);
export const strs = (v: Flags[string]): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);

/** A repeated `--NAME KEY=VALUE` flag → {KEY: VALUE} (`--variable`, `--input`). */
export function pairFlags(flags: Flags, name: string, keyName = 'KEY'): Record<string, string> {
  const found: Record<string, string> = {};
  for (const pair of strs(flags[name])) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--${name} needs ${keyName}=VALUE, got ${JSON.stringify(pair)}`);
    found[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return found;
}

export function usageLine(spec: CommandSpec): string {
  const flagPart = spec.app ? ' [-a APP]' : '';
  return `slipway ${spec.name}${spec.usage ? ` ${spec.usage}` : ''}${flagPart}`;
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [spec.summary, '', `Usage: ${usageLine(spec)}`];
  if (spec.aliases?.length) lines.push(`Aliases: ${spec.aliases.join(', ')}`);
  const flags = allFlags(spec);
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.valueName ?? 'VALUE'}` : ''}`;
    return [left, f.description + (f.multiple ? ' (repeatable)' : '')];
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  lines.push('', 'Flags:', ...rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`));
  if (spec.description) lines.push('', spec.description.trim());
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  $ ${e}`));
  return lines.join('\n');
}

export function overviewHelp(specs: ReadonlyArray<Pick<CommandSpec, 'name' | 'summary'>>, version: string): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    `slipway ${version}: the command-line client for Slipway, a self-hosted Heroku-style platform.`,
    '',
    'Usage: slipway COMMAND [ARGS] [FLAGS]',
    '',
    'Commands:',
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'App commands take -a APP; without it the app comes from SLIPWAY_APP or from the git remote',
    'that points at this Slipway server (-r REMOTE picks one).',
    'Run `slipway help COMMAND` (or `slipway COMMAND --help`) for details.',
  ].join('\n');
}
