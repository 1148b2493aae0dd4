// Remembers loaded pipelines between `slipway ci run`s, so that start-up parses no YAML and
// compiles no JSON schema when nothing changed:
//   - a merged configuration that passed GitLab's JSON schema once is not validated again
//     (`valid/<sha256 of the config>`; the check costs ~0.25 s);
//   - the whole LoadedPipeline is kept (`loaded/<key>.json`) with what loading it looked at:
//     every file read (by content hash), the file list if globs used it, and the variables
//     include paths and include:rules see. loadPipeline is a function of exactly those, so
//     when they are all unchanged the stored result is the result. Loads that used
//     rules:changes or a remote include are not stored.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadPipeline, type LoadedPipeline, type LoadOptions } from '../index.js';
import type { JobDefinition } from '../resolve/jobs.js';
import type { PipelineContext, ProjectFiles, SourceLocation } from '../types.js';
import { includeVariables } from '../variables/predefined.js';
import { fastHash } from '../fast-hash.js';

const FORMAT = 2;
// Keys tell the user's own files apart; no OpenSSL start-up on the hot path (see fast-hash.ts).
const sha = fastHash;

interface Stored {
  format: number;
  /** Path → sha256 of the content, or null when the file was missing. */
  reads: Record<string, string | null>;
  /** sha256 of the file list, when loading listed the files. */
  list: string | null;
  result: Omit<LoadedPipeline, 'jobs'> & { jobs: StoredJob[] };
}

/** A JobDefinition as data: keyAt becomes the location of each of the job's keys. */
type StoredJob = Omit<JobDefinition, 'keyAt'> & { keys: Record<string, SourceLocation> };

const toStored = (loaded: LoadedPipeline): Stored['result'] => ({
  ...loaded,
  jobs: loaded.jobs.map(({ keyAt, ...job }) => ({ ...job, keys: Object.fromEntries(Object.keys(job.config).map((k) => [k, keyAt(k)])) })),
});

const fromStored = (stored: Stored['result']): LoadedPipeline => ({
  ...stored,
  jobs: stored.jobs.map(({ keys, ...job }) => ({ ...job, keyAt: (key: string) => (Object.hasOwn(keys, key) ? keys[key] : job.at) })),
});

/** What loading may depend on besides the files it reads. */
function keyOf(options: LoadOptions): string {
  const ctx = options.context;
  const parts = {
    format: FORMAT,
    entry: options.entry ?? '.gitlab-ci.yml',
    inputs: options.inputs ?? null,
    variables: ctx ? includeVariables(ctx) : null,
    repositoryFiles: ctx?.repositoryFiles ? sha(ctx.repositoryFiles.join('\0')) : null,
  };
  return sha(JSON.stringify(parts));
}

async function stillValid(stored: Stored, files: ProjectFiles): Promise<boolean> {
  if (stored.format !== FORMAT) return false;
  for (const [path, hash] of Object.entries(stored.reads)) {
    const text = await files.read(path);
    if ((text === undefined ? null : sha(text)) !== hash) return false;
  }
  return stored.list === null || sha((await files.list()).join('\0')) === stored.list;
}

/**
 * loadPipeline, remembered across runs under `stateDir/..` (shared by all projects: entries
 * are keyed by content). Gives exactly what loadPipeline would.
 */
export async function loadPipelineCached(options: LoadOptions & { stateDir: string }): Promise<LoadedPipeline> {
  const root = join(options.stateDir, '..');
  const storedAt = join(root, 'loaded', `${keyOf(options)}.json`);
  try {
    const stored = JSON.parse(readFileSync(storedAt, 'utf8')) as Stored;
    if (await stillValid(stored, options.files)) return fromStored(stored.result);
  } catch {
    // nothing stored, or unreadable
  }

  // Load while recording what was looked at.
  const reads: Record<string, string | null> = {};
  let list: string | null = null;
  let cacheable = !options.fetchRemote;
  const files: ProjectFiles = {
    async read(path) {
      const text = await options.files.read(path);
      reads[path] = text === undefined ? null : sha(text);
      return text;
    },
    async list() {
      const all = await options.files.list();
      list = sha(all.join('\0'));
      return all;
    },
  };
  let context: PipelineContext | undefined = options.context;
  if (context?.changes) {
    const changes = context.changes;
    context = {
      ...context,
      changes: (compareTo) => {
        cacheable = false;
        return changes(compareTo);
      },
    };
  }
  const loaded = await validatedOnce({ ...options, files, context }, root);
  if (cacheable && loaded.errors.length === 0) {
    const stored: Stored = { format: FORMAT, reads, list, result: toStored(loaded) };
    const text = JSON.stringify(stored);
    // Only plain data is stored: a result that would not survive JSON exactly is not kept.
    if (isDeepStrictEqual((JSON.parse(text) as Stored).result, stored.result)) {
      try {
        mkdirSync(join(storedAt, '..'), { recursive: true });
        const tmp = `${storedAt}.${process.pid}.tmp`;
        writeFileSync(tmp, text);
        renameSync(tmp, storedAt);
      } catch {
        // read-only state: load again next time
      }
    }
  }
  return loaded;
}

/** loadPipeline, with the JSON-schema check skipped for configurations that passed it before. */
async function validatedOnce(options: LoadOptions, root: string): Promise<LoadedPipeline> {
  const quick = await loadPipeline({ ...options, skipSchema: true });
  if (quick.errors.length || !quick.config) return quick;
  const marker = join(root, 'valid', sha(JSON.stringify(quick.config)));
  try {
    readFileSync(marker);
    return quick;
  } catch {
    // not validated yet
  }
  const full = await loadPipeline(options);
  if (full.errors.length === 0) {
    try {
      mkdirSync(join(marker, '..'), { recursive: true });
      writeFileSync(marker, '');
    } catch {
      // read-only state
    }
  }
  return full;
}
