/** What the pre-receive hook (a separate node process) and the server agree on. */

export const HOOK_ROUTE = '/internal/git-hook';
/** Where a CI project's post-receive hook sends the updated refs (one `<old> <new> <ref>` line each). */
export const POST_RECEIVE_ROUTE = '/internal/git-hook/post-receive';
export const REF_UPDATES_TYPE = 'application/x-slipway-ref-updates';
export const TOKEN_HEADER = 'x-slipway-push-token';
export const ARCHIVE_TYPE = 'application/x-tar';
/** The environment variable holding a CI project's push rules (JSON, projects/push-rules.ts) for its update hook. */
export const PUSH_RULES_ENV = 'SLIPWAY_PUSH_RULES';
export const DEPLOY_REFS: readonly string[] = ['refs/heads/main', 'refs/heads/master'];

/** One line of the hook route's response: output while the build runs, then one verdict. */
export type HookMessage = { out: string } | { ok: boolean; message?: string };
