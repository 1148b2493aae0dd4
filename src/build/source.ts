/**
 * Unpacks an app's source archive (.tar.gz or .tar) into a directory, safely.
 *
 * Every entry is checked before anything is written, so a hostile archive leaves no trace.
 * Extraction happens in a temporary directory beside the destination which is renamed into
 * place at the end, so a failure never leaves a half-extracted tree behind.
 */
import { mkdtemp, rename, rm, rmdir, readdir, stat, mkdir } from 'node:fs/promises';
import { basename, dirname, posix } from 'node:path';
import * as tar from 'tar';

export const MAX_SOURCE_ENTRIES = 100_000;
export const MAX_SOURCE_BYTES = 2 * 1024 ** 3;

const HOW_TO_ARCHIVE = 'create the archive from inside the app directory (tar -czf app.tgz -C app .)';

/** A source archive that Slipway refuses to unpack; the message says what to change. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

interface ArchiveEntry {
  /** Path as stored, normalised: no leading "./", no trailing "/". */
  path: string;
  type: string;
  linkpath?: string;
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Overrides of the size limits (tests use small ones). */
export interface SourceLimits {
  maxEntries?: number;
  maxBytes?: number;
}

export interface ExtractedSource {
  entries: number;
  bytes: number;
  /** The single top-level directory that was stripped (GitHub archive style), if any. */
  strippedDirectory?: string;
}

/**
 * Extracts `tarballPath` into `destDir`, which must not exist yet or be empty.
 * Throws a SourceError for unsafe or unreadable archives; nothing is written in that case.
 */
export async function extractSource(tarballPath: string, destDir: string, limits: SourceLimits = {}): Promise<ExtractedSource> {
  const { entries, bytes } = await readEntries(tarballPath, {
    maxEntries: limits.maxEntries ?? MAX_SOURCE_ENTRIES,
    maxBytes: limits.maxBytes ?? MAX_SOURCE_BYTES,
  });
  validateEntries(entries);
  const stripped = singleTopLevelDirectory(entries);

  await ensureUsableDestination(destDir);
  await mkdir(dirname(destDir), { recursive: true });
  const staging = await mkdtemp(`${dirname(destDir)}/.${basename(destDir)}.extract-`);
  try {
    await tar.x({
      file: tarballPath,
      cwd: staging,
      strict: true,
      preserveOwner: false,
      // Members are validated above; node-tar's own checks stay on as a second line of defence.
      preservePaths: false,
    });
    const root = stripped ? `${staging}/${stripped}` : staging;
    await rmdir(destDir).catch(() => undefined);
    await rename(root, destDir);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`Could not unpack the source archive: ${describe(err)}. ${HOW_TO_ARCHIVE}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { entries: entries.length, bytes, strippedDirectory: stripped };
}

async function readEntries(tarballPath: string, limits: Required<SourceLimits>): Promise<{ entries: ArchiveEntry[]; bytes: number }> {
  const entries: ArchiveEntry[] = [];
  let bytes = 0;
  let problem: SourceError | undefined;
  try {
    await tar.list({
      file: tarballPath,
      strict: true,
      onReadEntry: (entry) => {
        entry.resume();
        if (problem) return;
        if (entries.length >= limits.maxEntries) {
          problem = new SourceError(
            `Source archive has more than ${limits.maxEntries} entries; leave generated files such as node_modules and build output out of the archive.`,
          );
          return;
        }
        bytes += entry.size ?? 0;
        if (bytes > limits.maxBytes) {
          problem = new SourceError(
            `Source archive unpacks to more than ${formatLimit(limits.maxBytes)}; leave large generated files and data out of the archive.`,
          );
          return;
        }
        entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
      },
    });
  } catch (err) {
    if (problem) throw problem;
    throw unreadable(tarballPath, err);
  }
  if (problem) throw problem;
  return { entries, bytes };
}

function formatLimit(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : bytes >= 1024 ** 2 ? `${bytes / 1024 ** 2} MiB` : `${bytes} bytes`;
}

function unreadable(tarballPath: string, err: unknown): SourceError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new SourceError(`Source archive ${tarballPath} does not exist.`);
  return new SourceError(
    `The source is not a readable .tar.gz or .tar archive (${describe(err)}); ${HOW_TO_ARCHIVE}.`,
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.replace(/^TAR_[A-Z_]+: /, '') : String(err);
}

/** Checks every entry; throws on the first unsafe one. */
function validateEntries(raw: ArchiveEntry[]): void {
  const symlinks = new Map<string, string>();
  const entries = raw.map((entry) => ({ ...entry, path: checkedPath(entry.path) }));

  for (const entry of entries) {
    if (!ALLOWED_TYPES.has(entry.type)) {
      throw new SourceError(
        `Source archive entry "${entry.path}" is a ${describeType(entry.type)}, which an app source cannot contain; remove it from the app directory before archiving.`,
      );
    }
    if (entry.path === '' && entry.type !== 'Directory') {
      throw new SourceError(`Source archive entry "." must be a directory; ${HOW_TO_ARCHIVE}.`);
    }
    if (entry.type === 'SymbolicLink') symlinks.set(entry.path, entry.linkpath ?? '');
  }

  for (const entry of entries) {
    const parent = symlinkAncestor(entry.path, symlinks);
    if (parent) {
      throw new SourceError(
        `Source archive entry "${entry.path}" lies inside the symbolic link "${parent}"; archive the real directory instead of a link to it.`,
      );
    }
    if (entry.type === 'SymbolicLink') {
      const target = entry.linkpath ?? '';
      if (target === '' || posix.isAbsolute(target) || resolveInside(`${posix.dirname(entry.path)}/${target}`, symlinks) === null) {
        throw new SourceError(
          `Source archive entry "${entry.path}" is a symbolic link to "${target}", which points outside the app directory; replace it with a copy of the file or a relative link inside the app.`,
        );
      }
    }
    if (entry.type === 'Link') {
      const target = entry.linkpath ?? '';
      if (target === '' || posix.isAbsolute(target) || resolveInside(target, symlinks) === null) {
        throw new SourceError(
          `Source archive entry "${entry.path}" is a hard link to "${target}", which points outside the app directory; ${HOW_TO_ARCHIVE}.`,
        );
      }
    }
  }
}

/** Returns the path in normalised form or throws when it is absolute or climbs with "..". */
function checkedPath(path: string): string {
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) {
    throw new SourceError(`Source archive entry "${path}" has an absolute path; ${HOW_TO_ARCHIVE}.`);
  }
  const parts = path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new SourceError(`Source archive entry "${path}" points outside the app directory; ${HOW_TO_ARCHIVE}.`);
  }
  return parts.join('/');
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    CharacterDevice: 'character device',
    BlockDevice: 'block device',
    FIFO: 'named pipe (FIFO)',
  };
  return names[type] ?? `special entry of type ${type}`;
}

function symlinkAncestor(path: string, symlinks: Map<string, string>): string | undefined {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (symlinks.has(prefix)) return prefix;
  }
  return undefined;
}

/**
 * Resolves a path relative to the archive root, following the archive's own symbolic links,
 * the way the kernel would once extracted. Returns null when it leaves the root (or loops).
 * The path must not be normalised beforehand: "link/.." is not "." when link is a symlink.
 */
function resolveInside(path: string, symlinks: Map<string, string>): string | null {
  const pending = path.split('/');
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) return null;
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    const target = symlinks.get(candidate);
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++hops > 40 || posix.isAbsolute(target)) return null;
    pending.unshift(...target.split('/'));
  }
  return resolved.join('/');
}

/** The name of the one directory that holds every entry (GitHub archive style), if so. */
function singleTopLevelDirectory(raw: ArchiveEntry[]): string | undefined {
  const entries = raw.map((e) => ({ ...e, path: checkedPath(e.path) })).filter((e) => e.path !== '');
  if (entries.length === 0) return undefined;
  const top = entries[0].path.split('/')[0];
  let hasChildren = false;
  for (const entry of entries) {
    const [first, ...rest] = entry.path.split('/');
    if (first !== top) return undefined;
    if (rest.length === 0 && entry.type !== 'Directory') return undefined;
    if (rest.length > 0) hasChildren = true;
  }
  return hasChildren ? top : undefined;
}

async function ensureUsableDestination(destDir: string): Promise<void> {
  const info = await stat(destDir).catch(() => null);
  if (!info) return;
  if (!info.isDirectory() || (await readdir(destDir)).length > 0) {
    throw new SourceError(`Cannot unpack the source into ${destDir}: it already exists and is not an empty directory.`);
  }
}
