// ci:play, ci:retry, ci:cancel, ci:artifacts — job control for server-mode CI.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline as pipe } from 'node:stream/promises';
import { str, type CommandSpec } from '../args.js';
import { client } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { CliError, out, printJson, sleep } from '../output.js';
import { JSON_FLAG, numberArg, PROJECT_FLAG, projectOf, statusText, type Job, type Pipeline } from './projects.js';

const describe = (j: Job) => `#${j.id} (${j.name})`;

/** What a cancel answers with is the state before running jobs were killed. */
const stillStopping = (x: { status: string }) => ['created', 'pending', 'running', 'waiting_for_resource'].includes(x.status);

/** Re-reads the pipeline or job until its jobs are stopped (a few seconds at most, normally). */
async function settle<T extends { status: string }>(api: ApiClient, path: string, first: T): Promise<T> {
  let current = first;
  for (let tries = 0; stillStopping(current) && tries < 150; tries++) {
    await sleep(200);
    current = await api.get<T>(path);
  }
  return current;
}

export const ciControlCommands: CommandSpec[] = [
  {
    name: 'ci:play',
    summary: 'run a manual job, or a delayed job now',
    usage: 'JOB',
    flags: { ...PROJECT_FLAG, ...JSON_FLAG },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:play 12 -p shop'],
    async run({ flags, args }) {
      const job = await client().post<Job>(`/projects/${enc(projectOf(flags))}/jobs/${numberArg(args[0], 'job')}/play`, {});
      if (flags.json) return printJson(job);
      out(`Playing job ${describe(job)}: ${statusText(job.status)}`);
    },
  },
  {
    name: 'ci:retry',
    summary: 'retry a finished job (a new job), or the failed and canceled jobs of a pipeline',
    usage: 'JOB | --pipeline ID',
    flags: { ...PROJECT_FLAG, pipeline: { type: 'string', description: "retry this pipeline's failed and canceled jobs", valueName: 'ID' }, ...JSON_FLAG },
    maxArgs: 1,
    examples: ['slipway ci:retry 12 -p shop', 'slipway ci:retry --pipeline 4 -p shop'],
    async run({ flags, args }) {
      const project = enc(projectOf(flags));
      const pipelineArg = str(flags.pipeline);
      if (pipelineArg !== undefined) {
        if (args.length) throw new CliError('Give either a job number or --pipeline ID, not both.');
        const p = await client().post<Pipeline>(`/projects/${project}/pipelines/${numberArg(pipelineArg, 'pipeline')}/retry`, {});
        if (flags.json) return printJson(p);
        const waiting = (p.jobs ?? []).filter((j) => ['created', 'pending'].includes(j.status));
        return out(`Retrying pipeline #${p.id}: ${statusText(p.status)}${waiting.length ? `; new jobs ${waiting.map(describe).join(', ')}` : ''}`);
      }
      if (args.length === 0) throw new CliError('Which job? Give its number (see: slipway ci:pipeline ID -p PROJECT), or --pipeline ID.');
      const number = numberArg(args[0], 'job');
      const job = await client().post<Job>(`/projects/${project}/jobs/${number}/retry`, {});
      if (flags.json) return printJson(job);
      out(`Retrying job #${number} as ${describe(job)}: ${statusText(job.status)}`);
    },
  },
  {
    name: 'ci:cancel',
    summary: 'cancel a pipeline (or one job with --job): running jobs are killed',
    usage: 'PIPELINE | --job JOB',
    flags: { ...PROJECT_FLAG, job: { type: 'string', description: 'cancel only this job', valueName: 'JOB' }, ...JSON_FLAG },
    maxArgs: 1,
    examples: ['slipway ci:cancel 4 -p shop', 'slipway ci:cancel --job 12 -p shop'],
    async run({ flags, args }) {
      const project = enc(projectOf(flags));
      const jobArg = str(flags.job);
      const api = client();
      if (jobArg !== undefined) {
        if (args.length) throw new CliError('Give either a pipeline number or --job JOB, not both.');
        const path = `/projects/${project}/jobs/${numberArg(jobArg, 'job')}`;
        const job = await settle(api, path, await api.post<Job>(`${path}/cancel`, {}));
        if (flags.json) return printJson(job);
        return out(stillStopping(job) ? `Canceling job ${describe(job)}: still ${job.status}, being stopped (see: slipway ci:job:log ${job.id} -p ${projectOf(flags)})` : `Canceled job ${describe(job)}: ${statusText(job.status)}`);
      }
      if (args.length === 0) throw new CliError('Which pipeline? Give its number (see: slipway ci:pipelines -p PROJECT), or --job JOB.');
      const path = `/projects/${project}/pipelines/${numberArg(args[0], 'pipeline')}`;
      const p = await settle(api, path, await api.post<Pipeline>(`${path}/cancel`, {}));
      if (flags.json) return printJson(p);
      if (stillStopping(p)) return out(`Canceling pipeline #${p.id}: still ${p.status}, its jobs are being stopped (see: slipway ci:pipeline ${p.id} -p ${projectOf(flags)})`);
      const counts = new Map<string, number>();
      for (const j of p.jobs ?? []) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
      const jobs = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
      out(`Canceled pipeline #${p.id}: ${statusText(p.status)}${jobs ? ` (jobs: ${jobs})` : ''}`);
    },
  },
  {
    name: 'ci:artifacts',
    summary: "download a job's artifacts (a .tar.gz)",
    usage: 'JOB',
    flags: { ...PROJECT_FLAG, output: { type: 'string', short: 'o', description: 'where to write the tarball (default artifacts-JOB.tar.gz; - for stdout)', valueName: 'FILE' } },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway ci:artifacts 12 -p shop -o build.tar.gz', 'slipway ci:artifacts 12 -p shop -o - | tar -tz'],
    async run({ flags, args }) {
      const number = numberArg(args[0], 'job');
      const res = await client().raw('GET', `/projects/${enc(projectOf(flags))}/jobs/${number}/artifacts`);
      if (!res.ok || !res.body) {
        const text = await res.text();
        let message = `HTTP ${res.status} downloading the artifacts of job #${number}`;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message;
        } catch {
          // not JSON
        }
        throw new CliError(message);
      }
      const file = str(flags.output) ?? `artifacts-${number}.tar.gz`;
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
      if (file === '-') return void (await pipe(body, process.stdout));
      await pipe(body, createWriteStream(file));
      out(`Saved the artifacts of job #${number} to ${file}`);
    },
  },
];
