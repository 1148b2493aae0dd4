/**
 * Turns a buildpack reference into a directory holding bin/detect, bin/compile, bin/release.
 *
 * References: built-in names (`nodejs`, `heroku/nodejs`, ...), absolute local directories, and
 * git URLs (`https://…`, `file://…`, optional `#ref`), cloned shallowly into a cache by URL.
 * Buildpacks that are not built in run from a private copy per build, because the classic
 * protocol lets a buildpack write files (such as `export`) into its own directory.
 */
import { createHash } from 'node:crypto';
import { access, chmod, constants, cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join, relative, sep } from 'node:path';
import { spawn } from 'node:child_process';
import { BuildError } from './contract.js';

/** Built-in buildpacks, in the order they are tried when an app names none. */
export const BUILTIN_BUILDPACKS = ['nodejs', 'static', 'procfile'] as const;

/** Where the built-in buildpacks live: `<repo>/buildpacks`, from `<repo>/dist/src/build`. */
export const BUILTIN_BUILDPACKS_DIR = fileURLToPath(new URL('../../../buildpacks/', import.meta.url));

export interface ResolvedBuildpack {
  /** The reference as the user gave it (or the built-in name). */
  ref: string;
  dir: string;
  builtin: boolean;
}

export interface ResolveOptions {
  buildpacksCacheDir: string;
  /** A per-build scratch directory for private copies of non built-in buildpacks. */
  scratchDir: string;
  output: (line: string) => void;
  signal?: AbortSignal;
}

export function builtinName(ref: string): string | undefined {
  const name = ref.replace(/^heroku\//, '');
  return (BUILTIN_BUILDPACKS as readonly string[]).includes(name) ? name : undefined;
}

export async function resolveBuildpack(ref: string, options: ResolveOptions): Promise<ResolvedBuildpack> {
  const builtin = builtinName(ref);
  if (builtin) {
    const dir = join(BUILTIN_BUILDPACKS_DIR, builtin);
    await ensureScriptsRunnable(ref, dir);
    return { ref: builtin, dir, builtin: true };
  }
  let origin: string;
  if (/^(https?|file|ssh|git):\/\//.test(ref)) {
    origin = await fetchGitBuildpack(ref, options);
  } else if (isAbsolute(ref)) {
    origin = ref;
    const info = await stat(ref).catch(() => null);
    if (!info?.isDirectory()) throw new BuildError(`Buildpack directory ${ref} does not exist; give an existing absolute path, a git URL or a built-in name (nodejs, static, procfile).`);
  } else {
    throw new BuildError(
      `Unknown buildpack "${ref}": use a built-in name (nodejs, static, procfile, or heroku/nodejs, heroku/static), an absolute directory path, or a git URL such as https://example.com/buildpack.git#v1.`,
    );
  }
  const copy = join(options.scratchDir, `${(await readdir(options.scratchDir)).length}-${safeName(ref)}`);
  await cp(origin, copy, { recursive: true, filter: (src) => !relative(origin, src).split(sep).includes('.git') });
  await ensureScriptsRunnable(ref, copy);
  return { ref, dir: copy, builtin: false };
}

function safeName(ref: string): string {
  return ref.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60);
}

/** Checks that bin/detect and bin/compile exist, and makes the bin scripts executable. */
async function ensureScriptsRunnable(ref: string, dir: string): Promise<void> {
  for (const script of ['detect', 'compile']) {
    const file = join(dir, 'bin', script);
    if (!(await stat(file).catch(() => null))?.isFile()) {
      throw new BuildError(`Buildpack ${ref} has no bin/${script}; a classic buildpack needs bin/detect, bin/compile and bin/release.`);
    }
  }
  for (const name of await readdir(join(dir, 'bin'))) {
    const file = join(dir, 'bin', name);
    const info = await stat(file);
    if (!info.isFile() || (await access(file, constants.X_OK).then(() => true, () => false))) continue;
    await chmod(file, info.mode | 0o111).catch(() => {
      throw new BuildError(`Buildpack ${ref}: bin/${name} is not executable and cannot be made so; run chmod +x bin/${name} in the buildpack.`);
    });
  }
}

/** Per-URL lock so that concurrent builds do not clone into the same cache directory at once. */
const fetching = new Map<string, Promise<string>>();

async function fetchGitBuildpack(ref: string, options: ResolveOptions): Promise<string> {
  const previous = fetching.get(ref) ?? Promise.resolve('');
  const next = previous.catch(() => '').then(() => updateGitCache(ref, options));
  fetching.set(ref, next);
  try {
    return await next;
  } finally {
    if (fetching.get(ref) === next) fetching.delete(ref);
  }
}

async function updateGitCache(ref: string, options: ResolveOptions): Promise<string> {
  const [url, gitRef] = splitRef(ref);
  const dir = join(options.buildpacksCacheDir, createHash('sha256').update(ref).digest('hex').slice(0, 24));
  await mkdir(options.buildpacksCacheDir, { recursive: true });
  const display = url.replace(/\/\/[^/@]*@/, '//***@'); // never show credentials from the URL
  options.output(`-----> Fetching buildpack ${display}${gitRef ? `#${gitRef}` : ''}`);

  const fresh = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    const run = (args: string[], tolerate = false) => git(['-C', fresh, ...args], display, options.signal, tolerate);
    await mkdir(fresh);
    await run(['init', '-q']);
    await run(['remote', 'add', 'origin', url]);
    const fetched = await run(['fetch', '-q', '--depth', '1', 'origin', gitRef ?? 'HEAD'], true);
    // Servers may refuse shallow fetches of a bare commit id; fall back to a full fetch.
    if (!fetched) await run(['fetch', '-q', 'origin']);
    const target = fetched ? 'FETCH_HEAD' : gitRef ?? 'FETCH_HEAD';
    const checkedOut = await run(['checkout', '-q', '--detach', target], true);
    if (!checkedOut) throw new BuildError(`Buildpack ${display}: could not find "${gitRef}" in the repository; check the branch, tag or commit after "#".`);
    await rm(dir, { recursive: true, force: true });
    await rename(fresh, dir);
    return dir;
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    if (err instanceof BuildError && options.signal?.aborted) throw err;
    if (await stat(join(dir, 'bin')).catch(() => null)) {
      options.output(`       ! Could not update the buildpack (${(err as Error).message}); using the cached copy.`);
      return dir;
    }
    throw err;
  }
}

function splitRef(ref: string): [string, string | undefined] {
  const hash = ref.lastIndexOf('#');
  if (hash < 0) return [ref, undefined];
  return [ref.slice(0, hash), ref.slice(hash + 1) || undefined];
}

/** Runs git; returns false on failure when `tolerate` is set, else throws a BuildError. */
function git(args: string[], display: string, signal: AbortSignal | undefined, tolerate = false): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (e) => reject(new BuildError(signal?.aborted ? 'The build was canceled before it finished.' : `Could not run git: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(true);
      if (tolerate) return resolve(false);
      const reason = stderr.trim().split('\n').pop()?.replace(/\/\/[^/@\s]*@/g, '//***@') ?? `exit code ${code}`;
      reject(new BuildError(`Could not fetch buildpack ${display}: ${reason}. Check that the URL is right and reachable from this server.`));
    });
  });
}
