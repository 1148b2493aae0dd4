export type { GitAccount, GitPush, GitRoutesOptions, PushResult } from './types.js';
export { registerGitRoutes } from './routes.js';
export { deleteAppRepo, ensureAppRepo, renameAppRepo } from './repos.js';
