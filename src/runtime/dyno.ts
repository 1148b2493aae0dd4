import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Runtime, RunningProcess, ExitStatus, ProcessSpec } from './contract.js';
import type { LogHub } from '../logs/log-hub.js';
import { isListening } from './ports.js';

export type DynoState = 'starting' | 'up' | 'crashed' | 'down' | 'idle' | 'complete';

export interface DynoInfo {
  id: string;
  appId: string;
  name: string;
  type: string;
  state: DynoState;
  command: string;
  size: string;
  releaseId: string;
  version: number;
  port: number | null;
  attach: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Sends every line of a process's output into the app's log stream. */
export function pipeLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', onLine);
  lines.on('error', () => undefined);
}

/**
 * One running incarnation of a dyno: starts the process, tells the log stream what
 * happens to it, and (for web dynos) waits for it to accept connections on $PORT.
 */
export class DynoProcess {
  private process?: RunningProcess;
  private stopping = false;
  private readonly done: Promise<ExitStatus>;
  private resolveDone!: (status: ExitStatus) => void;

  constructor(
    readonly info: DynoInfo,
    private readonly runtime: Runtime,
    private readonly logs: LogHub,
    private readonly onState: (info: DynoInfo) => void,
    private readonly oneOff = false,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get exited(): Promise<ExitStatus> {
    return this.done;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  setState(state: DynoState): void {
    if (this.info.state === state) return;
    this.platformLog(`State changed from ${this.info.state} to ${state}`);
    this.info.state = state;
    this.info.updatedAt = new Date().toISOString();
    this.onState(this.info);
  }

  platformLog(message: string): void {
    this.logs.append(this.info.appId, 'slipway', this.info.name, message);
  }

  async start(spec: ProcessSpec): Promise<void> {
    this.platformLog(`Starting process with command \`${this.info.command}\``);
    try {
      this.process = await this.runtime.start(spec);
    } catch (err) {
      this.platformLog(`Could not start: ${(err as Error).message}`);
      this.setState('crashed');
      this.resolveDone({ code: null, signal: null });
      return;
    }
    // An attached one-off dyno's output belongs to its client only (and must wait, unread, for it).
    if (!spec.interactive) {
      pipeLines(this.process.stdout, (line) => this.logs.append(this.info.appId, 'app', this.info.name, line));
      pipeLines(this.process.stderr, (line) => this.logs.append(this.info.appId, 'app', this.info.name, line));
    }
    this.process.exited.then((status) => this.onExit(status));
  }

  /** Resolves true when a web dyno accepts connections (or a non-web dyno has started). */
  async waitUntilUp(bootTimeoutMs: number): Promise<boolean> {
    if (this.info.type !== 'web' || this.info.port === null) {
      if (this.info.state === 'starting') this.setState('up');
      return this.info.state === 'up';
    }
    const deadline = Date.now() + bootTimeoutMs;
    let exited = false;
    this.done.then(() => (exited = true));
    while (!exited && !this.stopping && Date.now() < deadline) {
      if (await isListening(this.info.port)) {
        if (this.info.state === 'starting') this.setState('up');
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited && !this.stopping) {
      this.platformLog(`Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${Math.round(bootTimeoutMs / 1000)} seconds of launch`);
      await this.stop(1000, 'crashed');
    }
    return false;
  }

  private onExit(status: ExitStatus): void {
    const how = status.oomKilled
      ? 'Error R15 (Memory quota vastly exceeded) -> process killed'
      : status.signal
        ? `Process exited on signal ${status.signal}`
        : `Process exited with status ${status.code}`;
    this.platformLog(how);
    // A one-off dyno that exits has finished its job; a formation dyno that exits has crashed.
    if (!this.stopping) this.setState(this.oneOff ? 'complete' : 'crashed');
    this.resolveDone(status);
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs: number, finalState: DynoState = 'down'): Promise<ExitStatus> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.process && this.info.state !== 'crashed') this.platformLog('Stopping all processes with SIGTERM');
      this.process?.stop(graceMs).catch(() => undefined);
      if (!this.process) this.resolveDone({ code: null, signal: null });
    }
    const status = await this.done;
    this.setState(finalState);
    return status;
  }

  get running(): RunningProcess | undefined {
    return this.process;
  }
}
