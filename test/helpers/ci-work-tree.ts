/** Throwaway git work trees for `slipway ci` tests: files committed on main, origin at acme/shop. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function scratchRepos(scratch: string) {
  const gitEnv = { ...process.env, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
  let counter = 0;
  const repo = (files: Record<string, string>): string => {
    const dir = join(scratch, `repo${counter++}`);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'remote', 'add', 'origin', 'git@gitlab.example.com:acme/shop.git');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'pipeline');
    return dir;
  };
  return { gitEnv, git, repo };
}
