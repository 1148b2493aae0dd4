/**
 * Reading a project's bare repository for CI: run git without the server's GIT_* variables,
 * extract a commit into a directory, and describe a commit for the pipeline context.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';

/** The environment for git children: the hook's GIT_DIR & co. must not leak into them. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
}

/** Runs git against a bare repository and returns its stdout. */
export function git(repoDir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['--git-dir', repoDir, ...args], { env: cleanEnv(), maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** `git archive <sha> | tar -x -C dir`. */
export function extractCommit(repoDir: string, sha: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['--git-dir', repoDir, 'archive', '--format=tar', sha], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    archive.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    tar.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    archive.stdout.pipe(tar.stdin);
    // Both processes must have exited: either may close first.
    const exited = (child: typeof archive | typeof tar) => new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    archive.on('error', reject);
    tar.on('error', reject);
    Promise.all([exited(archive), exited(tar)]).then(([archiveCode, tarCode]) =>
      archiveCode === 0 && tarCode === 0 ? resolve() : reject(new Error(`extracting ${sha} failed: ${errors.trim() || `git archive exited ${archiveCode}, tar ${tarCode}`}`)),
    );
  });
}

/** The files of a commit (repository-relative, posix). */
export async function commitFiles(repoDir: string, sha: string): Promise<string[]> {
  return (await git(repoDir, ['ls-tree', '-r', '-z', '--name-only', sha])).split('\0').filter(Boolean);
}

export interface CommitInfo {
  message: string;
  author: string;
  timestamp: string;
}

export async function commitInfo(repoDir: string, sha: string): Promise<CommitInfo> {
  const [message, author, time] = (await git(repoDir, ['log', '-1', '--format=%B%x00%an <%ae>%x00%cI', sha])).split('\0');
  return { message: message?.trimEnd() ?? '', author: author ?? '', timestamp: time?.trim() ?? '' };
}

/** The branch HEAD points at (the project's default branch). */
export async function defaultBranch(repoDir: string): Promise<string> {
  const head = (await git(repoDir, ['symbolic-ref', '-q', 'HEAD']).catch(() => 'refs/heads/main')).trim();
  return head.replace(/^refs\/heads\//, '') || 'main';
}

/** Paths that differ between two revisions (`a...b` for a merge base), or null if git cannot say. */
export function changedPaths(repoDir: string, range: string[]): string[] | null {
  try {
    return execFileSync('git', ['--git-dir', repoDir, 'diff', '--name-only', '-z', ...range], { env: cleanEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0')
      .filter(Boolean);
  } catch {
    return null;
  }
}
