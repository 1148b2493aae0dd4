// logs
import { str, type CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc } from '../client.js';
import { CliError, colour, useColour } from '../output.js';
import { followLogs } from '../stream.js';

const LINE = /^(\S+) ([\w-]+)\[([\w.-]+)\]: ?(.*)$/s;
/** Log sources: the dynos' own output, and the platform's lines (`heroku` as on Heroku). */
const SOURCES = ['app', 'slipway', 'heroku'];
const DYNO_COLOURS = [colour.cyan, colour.green, colour.yellow, colour.magenta, colour.blue];

/** Colours `<ts> <source>[<dyno>]: <msg>` by source and process type. */
export function colourLine(line: string): string {
  const m = LINE.exec(line);
  if (!m) return line;
  const [, ts, source, dyno, msg] = m;
  const type = dyno.split('.')[0];
  let paint = colour.cyan;
  if (dyno === 'router') paint = colour.blue;
  else if (source !== 'app') paint = colour.magenta;
  else paint = DYNO_COLOURS[[...type].reduce((h, c) => h + c.charCodeAt(0), 0) % DYNO_COLOURS.length];
  const body = / (status|code)=5\d\d\b|\bError\b/.test(msg) && source !== 'app' ? colour.red(msg) : msg;
  return `${colour.dim(ts)} ${paint(`${source}[${dyno}]:`)} ${body}`;
}

export const logsCommands: CommandSpec[] = [
  {
    name: 'logs',
    summary: "show an app's recent logs (or follow them with --tail)",
    app: true,
    flags: {
      num: { type: 'string', short: 'n', description: 'number of recent lines (default 100)', valueName: 'N' },
      tail: { type: 'boolean', short: 't', description: 'keep following new lines' },
      'process-type': { type: 'string', short: 'p', description: 'only this process type (e.g. web)', valueName: 'TYPE' },
      dyno: { type: 'string', short: 'd', description: 'only this dyno (e.g. web.1; router for the router)', valueName: 'NAME' },
      source: { type: 'string', short: 's', description: 'only app (the dynos) or slipway (the platform; alias heroku)', valueName: 'SRC' },
    },
    maxArgs: 0,
    examples: ['slipway logs -a myapp', 'slipway logs --tail -p web', 'slipway logs -n 20 -s app -d worker.1', 'slipway logs -d router'],
    async run({ flags }) {
      const n = str(flags.num) ?? '100';
      if (!/^\d+$/.test(n)) throw new CliError(`-n must be a number, got ${JSON.stringify(n)}.`);
      if (flags['process-type'] && flags.dyno) throw new CliError('Use either -p TYPE or -d DYNO, not both.');
      const { api, app } = await appSession(flags);
      const dyno = str(flags.dyno) ?? str(flags['process-type']);
      const source = str(flags.source);
      if (source !== undefined && !SOURCES.includes(source)) {
        // Router lines are `slipway[router]`: router is their dyno, not their source.
        const hint = source === 'router' ? ' The router logs as slipway[router]: use -d router.' : '';
        throw new CliError(`${JSON.stringify(source)} is not a log source; use -s app (the dynos' output) or -s slipway (the platform's lines, alias heroku).${hint}`);
      }
      const body = { lines: Number(n), tail: Boolean(flags.tail), ...(source ? { source } : {}), ...(dyno ? { dyno } : {}) };
      const session = await api.post<{ logplex_url: string }>(`/apps/${enc(app)}/log-sessions`, body);
      if (!session?.logplex_url) throw new CliError('The server did not return a log stream URL.');
      const paint = useColour();
      await followLogs(api.resolve(session.logplex_url), Boolean(flags.tail), (line) => {
        process.stdout.write(`${paint ? colourLine(line) : line}\n`);
      });
    },
  },
];
