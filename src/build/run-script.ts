/**
 * Runs one buildpack script (bin/detect, bin/compile, bin/release) as its own process group,
 * so that an abort or a finished script never leaves stray children behind.
 */
import { spawn } from 'node:child_process';
import { BuildError } from './contract.js';

export interface ScriptRun {
  /** Absolute path of the script. */
  script: string;
  args: string[];
  /** The complete environment; nothing from Slipway's own environment leaks in. */
  env: Record<string, string>;
  cwd: string;
  /** `export` files of earlier buildpacks, sourced (in order) before the script starts. */
  exports?: string[];
  /** Receives stdout and stderr line by line; without it stdout is only collected. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

export function runScript(run: ScriptRun): Promise<ScriptResult> {
  if (run.signal?.aborted) return Promise.reject(aborted());
  const exports = run.exports ?? [];
  // With exports, a bash shim sources them (passed as leading arguments, so that nothing
  // extra lands in the environment), drops them, and execs the script.
  const shim = `for ((i = 1; i <= ${exports.length}; i++)); do . "\${!i}" || exit 1; done; shift ${exports.length}; exec "$0" "$@"`;
  const [command, args] = exports.length === 0 ? [run.script, run.args] : ['bash', ['-c', shim, run.script, ...exports, ...run.args]];
  const env = run.env;

  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: run.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const onAbort = () => killGroup('SIGKILL');
    run.signal?.addEventListener('abort', onAbort, { once: true });

    const splitter = (keep: boolean) => {
      let pending = '';
      return {
        push(chunk: Buffer) {
          const text = chunk.toString('utf8');
          if (keep) stdout += text;
          pending += text;
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) run.onLine?.(line.replace(/\r$/, ''));
        },
        flush() {
          if (pending !== '') run.onLine?.(pending.replace(/\r$/, ''));
          pending = '';
        },
      };
    };
    const out = splitter(true);
    const err = splitter(false);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    // Once the script itself exits, anything it left running in its group is killed, so that
    // background children holding the pipes open cannot stall the build.
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      killGroup('SIGKILL');
    });
    child.on('error', (e) => {
      run.signal?.removeEventListener('abort', onAbort);
      reject(new BuildError(`Could not run ${run.script}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      run.signal?.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      if (run.signal?.aborted) return reject(aborted());
      resolve({ code: exit?.code ?? code, signal: exit?.signal ?? signal, stdout });
    });
  });
}

function aborted(): BuildError {
  return new BuildError('The build was canceled before it finished.');
}
