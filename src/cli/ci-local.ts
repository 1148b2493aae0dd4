// `slipway ci run|list|lint` as a program of its own: the same command spec, flags, help and
// errors as through program.ts, but bundled into one file with everything these commands
// need, so they start without loading the rest of the client (see main.ts).
import { commandHelp, parseCommandArgs } from './args.js';
import { ciCommands } from './commands/ci.js';
import { exitOnClosedStdout, exitWhenFlushed, reportError } from './exit.js';
import { out } from './output.js';

/** Runs `ci SUBCOMMAND …` (`argv` without the leading `ci`) and exits with its status. */
export function runLocalCi(argv: string[]): void {
  exitOnClosedStdout();
  const spec = ciCommands.find((c) => c.name === 'ci')!;
  const run = async (): Promise<number> => {
    const { flags, args } = parseCommandArgs(spec, argv);
    if (flags.help) {
      out(commandHelp(spec));
      return 0;
    }
    return (await spec.run({ flags, args, spec })) ?? 0;
  };
  run().then(
    (code) => exitWhenFlushed(code),
    (e) => exitWhenFlushed(reportError(e)),
  );
}
