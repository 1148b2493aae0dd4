// Predefined CI variables that exist when the pipeline is created (usable in rules), computed
// from the pipeline context with GitLab's exact slug rules. Job-only variables (ids, dirs,
// tokens) are added by whoever runs the job.
import type { PipelineContext } from '../types.js';

/** GitLab's slugify: lowercase, every non [a-z0-9] becomes `-`, cut to 63, trim dashes. */
export function slugify(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

const ZERO_SHA = '0'.repeat(40);
const MR_DESCRIPTION_LIMIT = 2700;

export function predefinedVariables(ctx: PipelineContext): Record<string, string> {
  const v: Record<string, string> = { CI: 'true', GITLAB_CI: 'true' };
  // A child pipeline of a merge request pipeline is one too (GitLab passes the merge request down).
  const mr = ctx.source === 'merge_request_event' || ctx.source === 'parent_pipeline' ? ctx.mergeRequest : undefined;
  const refName = mr ? mr.sourceBranch : (ctx.tag ?? ctx.branch ?? '');
  const server = new URL(ctx.serverUrl ?? 'http://localhost');
  const projectPath = ctx.projectPath;
  const namespace = projectPath.includes('/') ? projectPath.slice(0, projectPath.lastIndexOf('/')) : '';
  const projectName = projectPath.slice(projectPath.lastIndexOf('/') + 1);
  const serverUrl = server.origin;
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');

  Object.assign(v, {
    CI_SERVER: 'yes',
    CI_SERVER_URL: serverUrl,
    CI_SERVER_HOST: server.hostname,
    CI_SERVER_PORT: port,
    CI_SERVER_PROTOCOL: server.protocol.replace(/:$/, ''),
    CI_SERVER_FQDN: server.host,
    CI_API_V4_URL: `${serverUrl}/api/v4`,
    CI_PIPELINE_SOURCE: ctx.source,
    ...(ctx.source === 'trigger' ? { CI_PIPELINE_TRIGGERED: 'true' } : {}),
    CI_COMMIT_SHA: ctx.sha,
    CI_COMMIT_SHORT_SHA: ctx.sha.slice(0, 8),
    CI_COMMIT_BEFORE_SHA: mr || ctx.source === 'schedule' || ctx.source === 'web' ? ZERO_SHA : (ctx.beforeSha ?? ZERO_SHA),
    CI_COMMIT_REF_NAME: refName,
    CI_COMMIT_REF_SLUG: slugify(refName),
    CI_COMMIT_REF_PROTECTED: String(ctx.refProtected ?? false),
    CI_DEFAULT_BRANCH: ctx.defaultBranch,
    CI_DEFAULT_BRANCH_SLUG: slugify(ctx.defaultBranch),
    CI_PROJECT_PATH: projectPath,
    CI_PROJECT_PATH_SLUG: slugify(projectPath),
    CI_PROJECT_NAME: projectName,
    CI_PROJECT_TITLE: projectName,
    CI_PROJECT_NAMESPACE: namespace,
    CI_PROJECT_ROOT_NAMESPACE: namespace.split('/')[0] ?? '',
    CI_PROJECT_URL: `${serverUrl}/${projectPath}`,
    CI_PROJECT_VISIBILITY: 'private',
    CI_PIPELINE_IID: String(ctx.pipelineIid ?? 1),
    CI_NODE_TOTAL: '1',
  });
  if (ctx.projectId !== undefined) v.CI_PROJECT_ID = String(ctx.projectId);
  if (!mr && ctx.tag !== undefined) v.CI_COMMIT_TAG = ctx.tag;
  else if (!mr && ctx.branch !== undefined) v.CI_COMMIT_BRANCH = ctx.branch;
  if (ctx.commitMessage !== undefined) {
    const message = ctx.commitMessage;
    const title = message.split('\n')[0];
    v.CI_COMMIT_MESSAGE = message;
    v.CI_COMMIT_TITLE = title;
    v.CI_COMMIT_DESCRIPTION = title.length < 100 ? message.split('\n').slice(1).join('\n').replace(/^\n+/, '') : message;
  }
  if (ctx.commitTimestamp !== undefined) v.CI_COMMIT_TIMESTAMP = ctx.commitTimestamp;
  if (ctx.commitAuthor !== undefined) v.CI_COMMIT_AUTHOR = ctx.commitAuthor;
  if (ctx.user) {
    if (ctx.user.id !== undefined) v.GITLAB_USER_ID = String(ctx.user.id);
    if (ctx.user.login !== undefined) v.GITLAB_USER_LOGIN = ctx.user.login;
    if (ctx.user.name !== undefined) v.GITLAB_USER_NAME = ctx.user.name;
    if (ctx.user.email !== undefined) v.GITLAB_USER_EMAIL = ctx.user.email;
  }
  // Branch and merge request pipelines, when the branch is the source of open merge requests.
  if (ctx.openMergeRequests?.length && ctx.tag === undefined) v.CI_OPEN_MERGE_REQUESTS = ctx.openMergeRequests.slice(0, 4).join(',');
  if (mr) {
    Object.assign(v, {
      CI_MERGE_REQUEST_IID: String(mr.iid),
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: mr.sourceBranch,
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: mr.targetBranch,
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: '',
      CI_MERGE_REQUEST_TARGET_BRANCH_SHA: '',
      CI_MERGE_REQUEST_EVENT_TYPE: mr.eventType ?? 'detached',
      CI_MERGE_REQUEST_PROJECT_PATH: projectPath,
      CI_MERGE_REQUEST_PROJECT_URL: `${serverUrl}/${projectPath}`,
      CI_MERGE_REQUEST_REF_PATH: `refs/merge-requests/${mr.iid}/head`,
      CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: projectPath,
      CI_MERGE_REQUEST_SOURCE_PROJECT_URL: `${serverUrl}/${projectPath}`,
      CI_MERGE_REQUEST_TITLE: mr.title ?? '',
      CI_MERGE_REQUEST_DRAFT: String(mr.draft ?? false),
    });
    if (mr.id !== undefined) v.CI_MERGE_REQUEST_ID = String(mr.id);
    if (ctx.projectId !== undefined) v.CI_MERGE_REQUEST_PROJECT_ID = v.CI_MERGE_REQUEST_SOURCE_PROJECT_ID = String(ctx.projectId);
    if (mr.description !== undefined) {
      // GitLab passes at most 2,700 characters of the description and says when it cut it.
      v.CI_MERGE_REQUEST_DESCRIPTION = mr.description.slice(0, MR_DESCRIPTION_LIMIT);
      v.CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED = String(mr.description.length > MR_DESCRIPTION_LIMIT);
    }
    if (mr.labels?.length) v.CI_MERGE_REQUEST_LABELS = mr.labels.join(',');
    if (mr.diffBaseSha) v.CI_MERGE_REQUEST_DIFF_BASE_SHA = mr.diffBaseSha;
  }
  return v;
}

/** The subset GitLab allows in `include:` paths and `include:rules`. */
export function includeVariables(ctx: PipelineContext): Record<string, string> {
  const all = predefinedVariables(ctx);
  const picked: Record<string, string> = {};
  for (const [k, value] of Object.entries(all)) {
    if (k.startsWith('CI_PROJECT_') || k === 'CI_PIPELINE_SOURCE' || k === 'CI_COMMIT_REF_NAME' || k === 'CI_PIPELINE_TRIGGERED') picked[k] = value;
  }
  // include:rules may also use the usual pre-pipeline variables (branch, tag, default branch).
  for (const k of ['CI_COMMIT_BRANCH', 'CI_COMMIT_TAG', 'CI_DEFAULT_BRANCH', 'CI_MERGE_REQUEST_IID', 'CI_COMMIT_SHA', 'CI']) if (all[k] !== undefined) picked[k] = all[k];
  return { ...picked, ...ctx.projectVariables, ...ctx.variables };
}
