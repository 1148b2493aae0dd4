// The git remote of a CI project: `slipway-ci` (by default) → <server>/<project>.git, marked as
// the project's, with the same repository-local credential helper (and CA, over HTTPS) as an
// app's remote. Used by projects:create, projects:remote and git:remote -p.
import { enc, type ApiClient } from './client.js';
import { configureCredentialHelper, currentBranch, insideRepo, projectGitUrl, remotes, setRemote } from './git.js';
import { CliError, out } from './output.js';

/** Not `slipway`, which apps:create takes for the app of the same work tree. */
export const PROJECT_REMOTE = 'slipway-ci';

export type RemoteOutcome =
  | { how: 'added' | 'updated' | 'unchanged'; remote: string; url: string; was?: string }
  /** A remote of that name points elsewhere and may not be replaced. */
  | { how: 'taken'; remote: string; url: string; was: string }
  | { how: 'no-repo'; remote: string; url: string };

/**
 * Adds the project's remote in the current work tree. An existing remote of that name with
 * another URL is replaced only when `replace` says so (an explicit request for the remote).
 */
export async function setUpProjectRemote(api: ApiClient, project: string, options: { remote?: string; replace: boolean }): Promise<RemoteOutcome> {
  const remote = options.remote ?? PROJECT_REMOTE;
  const url = projectGitUrl(api.url, project);
  if (!(await insideRepo())) return { how: 'no-repo', remote, url };
  const existing = (await remotes()).find((r) => r.name === remote);
  if (existing && existing.url !== url && !options.replace) {
    // The pushes by URL still authenticate: the helper is for the server, not the remote.
    await configureCredentialHelper(api.url);
    return { how: 'taken', remote, url, was: existing.url };
  }
  await setRemote(remote, url, undefined, project); // also (re)marks an unchanged one
  await configureCredentialHelper(api.url);
  if (!existing) return { how: 'added', remote, url };
  return existing.url === url ? { how: 'unchanged', remote, url } : { how: 'updated', remote, url, was: existing.url };
}

/** What to tell the user about the remote, and the push command that works as printed. */
export async function describeRemote(outcome: RemoteOutcome, project: string): Promise<{ note?: string; push: string }> {
  const branch = (outcome.how === 'no-repo' ? undefined : await currentBranch()) ?? 'main';
  switch (outcome.how) {
    case 'added':
      return { note: `Git remote ${outcome.remote} added: ${outcome.url}`, push: `git push ${outcome.remote} ${branch}` };
    case 'updated':
      return { note: `Git remote ${outcome.remote} updated: ${outcome.url} (was ${outcome.was})`, push: `git push ${outcome.remote} ${branch}` };
    case 'unchanged':
      return { note: `Git remote ${outcome.remote} already points at ${outcome.url}`, push: `git push ${outcome.remote} ${branch}` };
    case 'taken':
      return {
        note: `A git remote named ${outcome.remote} already exists (${outcome.was}); left it alone. Add the project's remote under another name with: slipway projects:remote -p ${project} -r NAME`,
        push: `git push ${outcome.url} ${branch}`,
      };
    case 'no-repo':
      return { push: `in your repository, run slipway projects:remote -p ${project}, then git push ${outcome.remote} ${branch}` };
  }
}

/** projects:remote and git:remote -p: an explicit request, so an existing remote is updated. */
export async function addProjectRemote(api: ApiClient, project: string, remote: string | undefined): Promise<void> {
  if (!(await insideRepo())) throw new CliError('Not inside a git repository. Run git init first, or cd into your repository.');
  const { name } = await api.get<{ name: string }>(`/projects/${enc(project)}`);
  const { note, push } = await describeRemote(await setUpProjectRemote(api, name, { remote, replace: true }), name);
  if (note) out(note);
  out(`Push to run pipelines: ${push}`);
}
