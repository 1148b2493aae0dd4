// `slipway ci run`: the presentation side of the local runner — job names in front of log
// lines, the summary table, --json, Ctrl-C. Loaded only when `ci run` is used.
import { availableParallelism } from 'node:os';
import type { LoadedPipeline, PipelineContext, PlannedJob } from '../../ci/index.js';
import { isBridge, planPipeline } from '../../ci/index.js';
import { MIN_MASKED_LENGTH, runLocalPipeline, UnknownJobError, type JobRecord, type LocalRunResult, type SchedulerHooks } from '../../ci/run/index.js';
import { str, strs, type Flags } from '../args.js';
import { CliError, err, printJson } from '../output.js';

const PALETTE = ['36', '33', '35', '32', '34', '96', '93', '95', '92', '94'];

function maskedVariables(flags: Flags): { variables: Record<string, string>; values: string[] } {
  const variables: Record<string, string> = {};
  for (const pair of strs(flags['masked-variable'])) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--masked-variable needs KEY=VALUE, got ${JSON.stringify(pair)}`);
    const value = pair.slice(at + 1);
    if (value.length < MIN_MASKED_LENGTH) throw new CliError(`--masked-variable ${pair.slice(0, at)}: a masked value must be at least ${MIN_MASKED_LENGTH} characters (as in GitLab).`);
    variables[pair.slice(0, at)] = value;
  }
  return { variables, values: Object.values(variables) };
}

export async function ciRun(options: { cwd: string; flags: Flags; jobs: string[]; ctx: PipelineContext; loaded: LoadedPipeline; entry: string }): Promise<number> {
  const { flags, ctx, loaded } = options;
  const json = flags.json === true;
  const masked = maskedVariables(flags);
  ctx.variables = { ...ctx.variables, ...masked.variables };
  const plan = planPipeline(loaded, ctx);
  if (plan.errors.length) {
    for (const e of plan.errors) err(`${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}`);
    return 1;
  }
  if (!plan.created) {
    err(`No pipeline was created: ${plan.reason ?? 'no jobs'}.`);
    if (json) printJson({ status: 'not_created', reason: plan.reason ?? null, jobs: [] });
    return 0;
  }
  const concurrencyFlag = str(flags.concurrency);
  const concurrency = concurrencyFlag === undefined ? availableParallelism() : Number(concurrencyFlag);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError(`--concurrency needs a positive whole number, got ${JSON.stringify(concurrencyFlag)}`);

  // Logs go to stdout, or to stderr when stdout carries the --json summary.
  const logStream = json ? process.stderr : process.stdout;
  const colours = Boolean(logStream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const paint = (code: string, text: string) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  // Jobs of child pipelines are named after the trigger jobs above them: `child » unit`.
  const width = Math.min(32, Math.max(0, ...plan.jobs.map((j) => j.name.length)));
  const prefixes = new Map<string, string>();
  const prefixOf = (label: string, nested = false) => {
    let prefix = prefixes.get(label);
    if (prefix === undefined) {
      const limit = nested ? 64 : 32; // a child job's name comes after its trigger jobs' names
      prefix = paint(PALETTE[prefixes.size % PALETTE.length], label.length > limit ? `${label.slice(0, limit - 1)}…` : label.padEnd(width));
      prefixes.set(label, prefix);
    }
    return prefix;
  };
  plan.jobs.forEach((j) => prefixOf(j.name));
  const writer = (path: string[]) => (job: PlannedJob, text: string) => {
    const prefix = prefixOf(labelOf(path, job.name), path.length > 0);
    const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    let chunk = '';
    for (const line of lines) chunk += `${prefix} ${line.startsWith('$ ') ? paint('32', line) : line}\n`;
    logStream.write(chunk);
  };
  const write = writer([]);
  const hooksFor = (path: string[]): SchedulerHooks => {
    const say = writer(path);
    return {
      onJobState(record, previous) {
        if (record.status === 'running' && previous !== 'running') say(record.job, paint('2', `starting (${record.job.stage}${record.attempts > 1 ? `, attempt ${record.attempts}` : ''})`));
        else if (record.status === 'success' || record.status === 'failed' || record.status === 'canceled') say(record.job, paint(record.status === 'success' ? '32' : record.allowedFailure ? '33' : '31', `${statusWord(record)} in ${seconds(record.durationMs)}`));
        else if (record.status === 'skipped' && isBridge(record.job.config) && record.note?.startsWith('not run')) say(record.job, paint('33', record.note));
      },
      onRetry(record) {
        say(record.job, paint('33', `retrying (${record.result?.message ?? record.result?.failureReason ?? 'failed'})`));
      },
    };
  };

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 2) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let result: LocalRunResult;
  try {
    result = await runLocalPipeline({
      projectDir: options.cwd,
      plan,
      config: loaded.config ?? {},
      context: ctx,
      entry: options.entry,
      files: ctx.repositoryFiles,
      only: options.jobs,
      manual: strs(flags.manual),
      concurrency,
      sandbox: flags['no-sandbox'] === true ? 'off' : 'auto',
      shellForImages: flags.shell === true,
      masked: masked.values,
      keep: flags.keep === true,
      signal: controller.signal,
      onOutput: write,
      hooks: hooksFor([]),
      downstream: (child) => ({ hooks: hooksFor(child.path), onOutput: writer(child.path) }),
    });
  } catch (e) {
    if (e instanceof UnknownJobError) throw new CliError(e.message);
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }

  if (json) {
    printJson({ status: result.status, executor: result.executor, duration_ms: result.durationMs, jobs: jsonJobs(result) });
  } else {
    const rows = tableRows(result, []).map(({ label, r, child }) => [label, r.job.stage, colourStatus(r, paint), r.attempts ? seconds(r.durationMs) : '', child ? `child pipeline ${colourPipeline(child.status, paint)}` : r.note && r.status !== 'success' && r.status !== 'failed' ? r.note : '']);
    const header = ['job', 'stage', 'status', 'duration', ''];
    const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
    const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i]))));
    const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i] - visible(c))).join('  ').trimEnd();
    logStream.write(`\n${paint('1', line(header))}\n${rows.map(line).join('\n')}\n`);
    logStream.write(`pipeline ${colourPipeline(result.status, paint)} in ${seconds(result.durationMs)} (${result.executor}${result.executor.includes('bubblewrap') ? '' : ', no sandbox'})\n`);
  }
  return result.status === 'failed' ? 1 : result.status === 'canceled' ? 130 : 0;
}

const labelOf = (path: string[], name: string): string => [...path, name].join(' » ');

/** The summary's jobs; a trigger job carries the child pipeline it made (`downstream_pipeline`). */
function jsonJobs(result: LocalRunResult): unknown[] {
  return result.jobs.map((r) => {
    const child = result.children.get(r.job.name);
    return {
      name: r.job.name,
      stage: r.job.stage,
      status: r.status,
      allow_failure: r.allowedFailure,
      exit_code: r.result?.exitCode ?? null,
      failure_reason: r.status === 'failed' ? (r.result?.failureReason ?? null) : null,
      attempts: r.attempts,
      duration_ms: r.durationMs,
      ...(r.note && (r.status === 'skipped' || r.status === 'created' || r.status === 'manual' || r.status === 'running') ? { note: r.note } : {}),
      ...(child ? { downstream_pipeline: { status: child.status, duration_ms: child.durationMs, jobs: jsonJobs(child) } } : {}),
    };
  });
}

/** Table rows: each job, and below a trigger job the jobs of its child pipeline. */
function tableRows(result: LocalRunResult, path: string[]): Array<{ label: string; r: JobRecord; child?: LocalRunResult }> {
  return result.jobs.flatMap((r) => {
    const child = result.children.get(r.job.name);
    const row = { label: labelOf(path, r.job.name), r, ...(child ? { child } : {}) };
    return child ? [row, ...tableRows(child, [...path, r.job.name])] : [row];
  });
}

const statusWord = (r: JobRecord): string => (r.status === 'failed' ? (r.allowedFailure ? `failed (allowed)${r.result?.exitCode !== undefined ? `, exit code ${r.result.exitCode}` : ''}` : `failed${r.result?.message ? `: ${r.result.message}` : ''}`) : r.status === 'success' ? 'succeeded' : r.status);

function colourStatus(r: JobRecord, paint: (code: string, text: string) => string): string {
  if (r.status === 'success') return paint('32', 'passed');
  if (r.status === 'failed') return r.allowedFailure ? paint('33', 'failed (allowed)') : paint('31', 'failed');
  if (r.status === 'canceled') return paint('31', 'canceled');
  return paint('2', r.status);
}

function colourPipeline(status: string, paint: (code: string, text: string) => string): string {
  return status === 'success' ? paint('32', 'passed') : status === 'failed' ? paint('31', 'failed') : paint('33', status);
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
