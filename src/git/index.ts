export type { GitAccount, GitPush, GitRoutesOptions, ProjectPush, PushResult } from './types.js';
export { registerGitRoutes } from './routes.js';
export { deleteAppRepo, ensureAppRepo, ensureProjectRepo, renameAppRepo } from './repos.js';
