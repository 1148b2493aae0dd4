// deploy: tarball of the working tree → POST /sources → PUT → POST builds → stream → release
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { create as createTar } from 'tar';
import { str, type CommandSpec } from '../args.js';
import { appSession } from '../app-resolution.js';
import { enc, type ApiClient } from '../client.js';
import { runGit } from '../git.js';
import { CliError, action, bytes, err, sleep } from '../output.js';
import { streamOutput } from '../stream.js';
import { requireReleased, type Release } from './releases.js';

interface Build {
  id: string;
  status: 'pending' | 'succeeded' | 'failed' | string;
  output_stream_url?: string | null;
  release?: { id?: string } | null;
}

/** Files to ship: git-tracked files when `dir` is in a repository, else all but .git/node_modules. */
export async function sourceFiles(dir: string): Promise<{ files: string[]; version: string | null }> {
  const inRepo = await runGit(['rev-parse', '--is-inside-work-tree'], dir);
  if (inRepo.code === 0 && inRepo.stdout.trim() === 'true') {
    const listed = await runGit(['ls-files', '-z', '--cached', '--', '.'], dir);
    if (listed.code !== 0) throw new CliError(`git ls-files failed: ${listed.stderr.trim()}`);
    const files = [...new Set(listed.stdout.split('\0').filter(Boolean))].filter((f) => {
      try {
        const st = lstatSync(join(dir, f));
        return st.isFile() || st.isSymbolicLink(); // skips deleted files and submodules
      } catch {
        return false;
      }
    });
    const head = await runGit(['rev-parse', 'HEAD'], dir);
    return { files, version: head.code === 0 ? head.stdout.trim() : null };
  }
  const files: string[] = [];
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      const rel = sub ? join(sub, entry.name) : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(rel);
    }
  };
  walk('');
  return { files, version: null };
}

/**
 * Outside a git repository, the commit a CI job checked out: Slipway's job directories have no
 * .git, so without this a deploy from a job would build a slug with no commit (no
 * HEROKU_SLUG_COMMIT, nothing for pipelines:diff to compare).
 */
function ciCommit(): string | null {
  const sha = process.env.CI_COMMIT_SHA?.trim();
  return sha && /^[0-9a-f]{40}$/.test(sha) ? sha : null;
}

export async function packTarball(dir: string, files: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = createTar({ gzip: true, cwd: dir, portable: true, noDirRecurse: true }, files);
  for await (const chunk of stream as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function waitFor<T>(fetchOnce: () => Promise<T>, done: (v: T) => boolean, everyMs = 1000): Promise<T> {
  for (;;) {
    const value = await fetchOnce();
    if (done(value)) return value;
    await sleep(everyMs);
  }
}

async function deploy(api: ApiClient, app: string, dir: string): Promise<number> {
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) throw new CliError(`${dir} is not a directory.`);
  await api.get(`/apps/${enc(app)}`); // fail early with "Couldn't find that app."
  const found = await sourceFiles(dir);
  const { files } = found;
  const version = found.version ?? ciCommit();
  if (files.length === 0) throw new CliError(`There are no files to deploy in ${dir}${found.version !== null ? ' (git ls-files is empty: commit or add your files)' : ''}.`);
  const tarball = await action(`Packing ${files.length} files${relative(process.cwd(), dir) ? ` from ${relative(process.cwd(), dir)}` : ''}`, async (suffix) => {
    const buf = await packTarball(dir, files);
    suffix(bytes(buf.length));
    return buf;
  });
  const source = await action('Uploading source', async () => {
    const created = await api.post<{ source_blob: { put_url: string; get_url: string } }>('/sources');
    const put = await fetch(api.resolve(created.source_blob.put_url), { method: 'PUT', body: new Uint8Array(tarball), headers: { 'Content-Type': '' } }).catch((e) => {
      throw new CliError(`Uploading the source failed: ${(e as Error).message}`);
    });
    await put.body?.cancel();
    if (!put.ok) throw new CliError(`Uploading the source failed with HTTP ${put.status}.`);
    return created.source_blob;
  });
  const build = await action(`Starting build of ${app}${version ? ` (${version.slice(0, 7)})` : ''}`, () =>
    api.post<Build>(`/apps/${enc(app)}/builds`, { source_blob: { url: source.get_url, version } }),
  );
  if (build.output_stream_url) await streamOutput(api, build.output_stream_url);
  const finished = await waitFor(
    () => api.get<Build>(`/apps/${enc(app)}/builds/${enc(build.id)}`),
    (b) => b.status !== 'pending',
  );
  if (finished.status !== 'succeeded') {
    err(`Build ${finished.status}. See the output above; nothing was released.`);
    return 1;
  }
  const releaseId = finished.release?.id;
  if (!releaseId) {
    err('Build succeeded.');
    return 0;
  }
  const created = await api.get<Release>(`/apps/${enc(app)}/releases/${enc(releaseId)}`);
  const release = await requireReleased(api, app, created, { announce: false });
  const info = await api.get<{ web_url?: string }>(`/apps/${enc(app)}`);
  err(`Released v${release.version} of ${app}${info.web_url ? `: ${info.web_url}` : ''}`);
  return 0;
}

export const deployCommands: CommandSpec[] = [
  {
    name: 'deploy',
    summary: 'build and release the working tree through the build API (no git push needed)',
    app: true,
    flags: { dir: { type: 'string', description: 'directory to deploy (default: the current one)', valueName: 'DIR' } },
    description: `Packs the git-tracked files of DIR (everything but .git and node_modules outside a
repository), uploads them with POST /sources, starts a build and streams its output, then waits
for the release. Exits non-zero if the build or the release fails.`,
    examples: ['slipway deploy -a myapp', 'slipway deploy -a myapp --dir ./services/web'],
    maxArgs: 0,
    async run({ flags }) {
      const { api, app } = await appSession(flags);
      return deploy(api, app, resolve(str(flags.dir) ?? '.'));
    },
  },
];
