/** A CI project with a local work tree for end-to-end tests: commit, push, wait for pipelines. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitFor, type Slipway } from './slipway.js';
import { git, type ExecResult } from './exec.js';
import { gitUrl } from './flow.js';

export class ProjectRepo {
  private constructor(
    readonly s: Slipway,
    readonly name: string,
    readonly dir: string,
  ) {}

  /** Creates the project and a local repository on `main` (nothing pushed yet). */
  static async create(s: Slipway, name: string): Promise<ProjectRepo> {
    const created = await s.api('POST', '/projects', { name });
    assert.equal(created.status, 201, created.text);
    const dir = mkdtempSync(join(tmpdir(), `slipway-${name}-`));
    await git(dir, 'init', '-q', '-b', 'main');
    return new ProjectRepo(s, name, dir);
  }

  get url(): string {
    return gitUrl(this.s, this.name);
  }

  async git(...args: string[]): Promise<ExecResult> {
    return git(this.dir, ...args);
  }

  /** Switches to `branch` (created from `from`, or the current commit, when new). */
  async checkout(branch: string, from?: string): Promise<void> {
    const exists = (await this.git('rev-parse', '--verify', '-q', `refs/heads/${branch}`)).code === 0;
    const result = exists ? await this.git('checkout', '-q', branch) : await this.git('checkout', '-q', '-b', branch, ...(from ? [from] : []));
    assert.equal(result.code, 0, result.stderr);
  }

  /** Writes the files, commits them on the current branch; returns the commit's sha. */
  async commit(files: Record<string, string>, message = 'change'): Promise<string> {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), text);
    }
    await this.git('add', '-A');
    const result = await this.git('commit', '-q', '-m', message);
    assert.equal(result.code, 0, result.stderr);
    return (await this.git('rev-parse', 'HEAD')).stdout.trim();
  }

  async push(...refs: string[]): Promise<ExecResult> {
    const result = await this.git('push', '-q', this.url, ...refs);
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
    return result;
  }

  /** The sha a branch has on the server (undefined when it has none). */
  async remoteBranch(branch: string): Promise<string | undefined> {
    const result = await this.git('ls-remote', this.url, `refs/heads/${branch}`);
    return result.stdout.split(/\s/)[0] || undefined;
  }

  async api(method: string, path: string, body?: unknown) {
    return this.s.api(method, `/projects/${this.name}${path}`, body);
  }

  /** Waits for a pipeline matching `match` to exist and finish; returns it with its jobs. */
  async finishedPipeline(what: string, match: (p: any) => boolean): Promise<any> {
    let seen: any[] = [];
    try {
      return await waitFor(what, async () => {
        seen = (await this.api('GET', '/pipelines')).body as any[];
        const found = seen.find(match);
        if (!found || ['created', 'running'].includes(found.status)) return undefined;
        return (await this.api('GET', `/pipelines/${found.id}`)).body;
      }, 120_000, 200);
    } catch (err) {
      const summary = seen.map((x) => `#${x.id} ${x.source} ${x.ref} ${x.sha?.slice(0, 8)} ${x.status}`).join('\n');
      throw new Error(`${(err as Error).message}\npipelines:\n${summary}`);
    }
  }

  async jobLog(pipeline: any, name: string): Promise<string> {
    const job = pipeline.jobs.find((j: any) => j.name === name);
    assert.ok(job, `no job ${name} in pipeline #${pipeline.id}: ${pipeline.jobs.map((j: any) => j.name).join(', ')}`);
    const res = await fetch(`${this.s.url}/projects/${this.name}/jobs/${job.id}/log?follow=false`, { headers: { Authorization: `Bearer ${this.s.apiKey}` } });
    return res.text();
  }
}
