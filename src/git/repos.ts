/**
 * Storage of app repositories: one bare repository per app at <reposDir>/<app>.git, with
 * Slipway's pre-receive hook installed. Everything here is safe to call repeatedly.
 */
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict } from '../core/errors.js';
import { validateAppName } from '../core/names.js';

// The hook only hands over to hook-main.js with the node that runs the server; both paths
// come from the environment of the receive-pack that Slipway starts. A push that did not
// come through Slipway (someone running git on the server) has neither and is refused,
// because nothing could deploy it.
const HOOK = `#!/bin/sh
# Installed by Slipway: deploys pushes to main or master. Do not edit; it is rewritten.
if [ -z "$SLIPWAY_HOOK_SCRIPT" ] || [ -z "$SLIPWAY_NODE" ]; then
  echo "This repository is managed by Slipway: push to the app's git URL (https://<slipway-host>/<app>.git)." >&2
  exit 1
fi
exec "$SLIPWAY_NODE" "$SLIPWAY_HOOK_SCRIPT"
`;

// Builds use the commit exactly as pushed: a project's export-ignore/export-subst
// attributes (meant for release tarballs) must not drop or rewrite files in the slug.
const ATTRIBUTES = '* -export-ignore -export-subst\n';

/** Path of an app's bare repository; rejects names that are not valid app names (no `..`). */
export function appRepoPath(reposDir: string, appName: string): string {
  return join(reposDir, `${validateAppName(appName)}.git`);
}

export function runGit(args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: cleanGitEnv(), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** The server's environment without GIT_* variables, which would point git elsewhere. */
export function cleanGitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return env;
}

const exists = (path: string) => access(path).then(() => true, () => false);

// CI projects' repositories get a post-receive hook instead: pipelines never gate a push.
const PROJECT_HOOK = `#!/bin/sh
# Installed by Slipway: runs CI pipelines for pushed branches and tags. Do not edit; it is rewritten.
if [ -z "$SLIPWAY_HOOK_SCRIPT" ] || [ -z "$SLIPWAY_NODE" ]; then
  echo "This push did not come through Slipway's git endpoint: no pipeline runs for it." >&2
  exit 0
fi
exec "$SLIPWAY_NODE" "$SLIPWAY_HOOK_SCRIPT" post-receive
`;

// …and an update hook, which refuses (per ref) pushes that delete or rewrite protected
// branches and tags; smart-http.ts passes the project's rules only when something is protected.
// Creations, and refs that are neither branches nor tags, never need node.
const PROJECT_UPDATE_HOOK = `#!/bin/sh
# Installed by Slipway: refuses pushes that delete or rewrite protected branches and tags. Do not edit; it is rewritten.
if [ -z "$SLIPWAY_PUSH_RULES" ] || [ -z "$SLIPWAY_HOOK_SCRIPT" ] || [ -z "$SLIPWAY_NODE" ]; then exit 0; fi
case "$1" in refs/heads/*|refs/tags/*) ;; *) exit 0 ;; esac
case "$2" in *[!0]*) ;; *) exit 0 ;; esac
exec "$SLIPWAY_NODE" "$SLIPWAY_HOOK_SCRIPT" update "$1" "$2" "$3"
`;

/** Path of a CI project's bare repository: <reposDir>/projects/<name>.git (names are app-style). */
export function projectRepoPath(reposDir: string, name: string): string {
  return join(reposDir, 'projects', `${validateAppName(name)}.git`);
}

/** Creates a CI project's bare repository if needed and (re)installs its post-receive and update hooks. */
export async function ensureProjectRepo(reposDir: string, name: string): Promise<string> {
  const dir = projectRepoPath(reposDir, name);
  await initBareRepo(join(reposDir, 'projects'), name, dir);
  await mkdir(join(dir, 'hooks'), { recursive: true });
  await mkdir(join(dir, 'info'), { recursive: true });
  await writeIfChanged(join(dir, 'hooks', 'post-receive'), PROJECT_HOOK, 0o755);
  await writeIfChanged(join(dir, 'hooks', 'update'), PROJECT_UPDATE_HOOK, 0o755);
  await writeIfChanged(join(dir, 'info', 'attributes'), ATTRIBUTES, 0o644);
  return dir;
}

/** Creates the app's bare repository (HEAD → refs/heads/main) if needed and (re)installs the hook. */
export async function ensureAppRepo(reposDir: string, appName: string): Promise<string> {
  const dir = appRepoPath(reposDir, appName);
  await initBareRepo(reposDir, appName, dir);
  await installHook(dir);
  return dir;
}

async function initBareRepo(reposDir: string, appName: string, dir: string): Promise<void> {
  if (!(await exists(join(dir, 'HEAD')))) {
    await mkdir(reposDir, { recursive: true });
    // Initialise beside the target and rename into place, so a concurrent caller (or a
    // clone racing an apps:create) never sees a half-made repository.
    const tmp = await mkdtemp(join(reposDir, `.${appName}.init-`));
    try {
      await runGit(['init', '--quiet', '--bare', '--template=', '--initial-branch=main', tmp]);
      await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    if (!(await exists(join(dir, 'HEAD')))) {
      throw new Error(`${dir} exists but is not a git repository; move it away and try again.`);
    }
  }
}

async function writeIfChanged(path: string, content: string, mode: number): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === content) return;
  // Write then rename: a push running right now must never execute a half-written hook.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function installHook(dir: string): Promise<void> {
  await mkdir(join(dir, 'hooks'), { recursive: true });
  await mkdir(join(dir, 'info'), { recursive: true });
  await writeIfChanged(join(dir, 'hooks', 'pre-receive'), HOOK, 0o755);
  await writeIfChanged(join(dir, 'info', 'attributes'), ATTRIBUTES, 0o644);
}

export async function deleteAppRepo(reposDir: string, appName: string): Promise<void> {
  await rm(appRepoPath(reposDir, appName), { recursive: true, force: true });
}

/** Moves an app's repository when the app is renamed; a missing source is not an error. */
export async function renameAppRepo(reposDir: string, from: string, to: string): Promise<void> {
  const source = appRepoPath(reposDir, from);
  const target = appRepoPath(reposDir, to);
  if (source === target || !(await exists(source))) return;
  if (await exists(target)) {
    throw conflict(`A git repository for ${to} already exists at ${target}; remove it before renaming ${from}.`);
  }
  await rename(source, target);
}

async function refExists(dir: string, ref: string): Promise<boolean> {
  return runGit(['show-ref', '--verify', '--quiet', ref], dir).then(() => true, () => false);
}

/**
 * After a push: HEAD names main when it exists, otherwise master when that exists, so that
 * `git clone` checks out the deployed branch of apps that push to master (dpl, old docs).
 */
export async function settleHead(dir: string): Promise<void> {
  const head = (await runGit(['symbolic-ref', '-q', 'HEAD'], dir).catch(() => '')).trim();
  let wanted: string | undefined;
  if (await refExists(dir, 'refs/heads/main')) wanted = 'refs/heads/main';
  else if (await refExists(dir, 'refs/heads/master')) wanted = 'refs/heads/master';
  if (wanted && wanted !== head) await runGit(['symbolic-ref', 'HEAD', wanted], dir);
}
