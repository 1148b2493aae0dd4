// How the CLI ends: errors as one line on stderr, and the exit once stdout and stderr have
// been flushed (they are pipes in scripts and tests, and process.exit would cut them short).
import { CliError, err } from './output.js';

/** Prints an error the way every command does and returns the exit status it calls for. */
export function reportError(e: unknown): number {
  if (e instanceof CliError) {
    err(`Error: ${e.message}`);
    return e.exitCode;
  }
  err(`Error: ${(e as Error)?.stack ?? String(e)}`);
  return 1;
}

/** A reader that went away (`slipway logs | head`) ends the command quietly. */
export function exitOnClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
}

export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
