/**
 * CI_JOB_TOKEN: a random token per job attempt, stored as a SHA-256 hash, valid only while
 * that attempt runs (removed when it ends, all removed at start-up). It acts as the user who
 * started the pipeline, scoped to the job's project: the API lets it reach only the apps
 * coupled to a pipeline (Heroku sense) connected to that project, and only deploy endpoints
 * (see src/api/job-token-scope.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { newId, newSecret, now, sha256 } from '../core/ids.js';
import { isUuid } from '../core/ids.js';
import { forbidden } from '../core/errors.js';

/** Job tokens start with this, so the API can tell them from API keys without a lookup. */
export const JOB_TOKEN_PREFIX = 'slpjt-';

export const isJobToken = (token: string): boolean => token.startsWith(JOB_TOKEN_PREFIX);

/** What a job token stands for. */
export interface JobTokenScope {
  tokenId: string;
  jobId: string;
  projectId: string;
  userId: string;
}

export class JobTokenService {
  constructor(private readonly db: Kysely<Database>) {}

  /** A new token for a job attempt (an earlier attempt's token stops working). */
  async issue(input: { jobId: string; projectId: string; userId: string; validForMs: number }): Promise<string> {
    const token = JOB_TOKEN_PREFIX + newSecret(24);
    const created = now();
    await this.db.deleteFrom('ci_job_tokens').where('job_id', '=', input.jobId).execute();
    await this.db
      .insertInto('ci_job_tokens')
      .values({
        id: newId(),
        token_hash: sha256(token),
        job_id: input.jobId,
        project_id: input.projectId,
        user_id: input.userId,
        created_at: created,
        expires_at: new Date(Date.now() + input.validForMs).toISOString(),
      })
      .execute();
    return token;
  }

  async revoke(jobId: string): Promise<void> {
    await this.db.deleteFrom('ci_job_tokens').where('job_id', '=', jobId).execute();
  }

  /** At start-up no job is running, so no token may work. */
  async revokeAll(): Promise<void> {
    await this.db.deleteFrom('ci_job_tokens').execute();
  }

  /** The scope of a token whose job is running now; null otherwise. Never logs the token. */
  async authenticate(token: string): Promise<JobTokenScope | null> {
    if (!isJobToken(token)) return null;
    const row = await this.db
      .selectFrom('ci_job_tokens')
      .innerJoin('ci_jobs', 'ci_jobs.id', 'ci_job_tokens.job_id')
      .select(['ci_job_tokens.id', 'ci_job_tokens.job_id', 'ci_job_tokens.project_id', 'ci_job_tokens.user_id', 'ci_job_tokens.expires_at', 'ci_jobs.status'])
      .where('ci_job_tokens.token_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.expires_at < now() || row.status !== 'running') return null;
    return { tokenId: row.id, jobId: row.job_id, projectId: row.project_id, userId: row.user_id };
  }

  /**
   * The id of the app (by name or id) if it is coupled to a pipeline connected to the
   * token's project; undefined otherwise.
   */
  async appInScope(scope: JobTokenScope, idOrName: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('apps')
      .innerJoin('pipeline_couplings', 'pipeline_couplings.app_id', 'apps.id')
      .innerJoin('pipelines', 'pipelines.id', 'pipeline_couplings.pipeline_id')
      .select('apps.id')
      .where('pipelines.project_id', '=', scope.projectId)
      .where(isUuid(idOrName) ? 'apps.id' : 'apps.name', '=', idOrName)
      .executeTakeFirst();
    return row?.id;
  }

  async projectName(scope: JobTokenScope): Promise<string> {
    const row = await this.db.selectFrom('projects').select('name').where('id', '=', scope.projectId).executeTakeFirst();
    return row?.name ?? 'its project';
  }
}

/** Scopes of the accounts git authenticated with a job token (HTTP Basic password). */
const gitScopes = new WeakMap<object, JobTokenScope>();

/**
 * git over HTTP with a job token (`https://gitlab-ci-token:$CI_JOB_TOKEN@host/app.git`): the
 * same scope as the API, so a job may fetch from and push to (deploy) the apps coupled to its
 * project's pipelines, and nothing else (no project repositories).
 */
export class JobTokenGitAccess {
  constructor(
    private readonly tokens: JobTokenService,
    private readonly account: (id: string) => Promise<{ id: string; email: string } | null>,
  ) {}

  async authenticate(token: string): Promise<{ id: string; email: string } | null> {
    const scope = await this.tokens.authenticate(token);
    const account = scope && (await this.account(scope.userId));
    if (!scope || !account) return null;
    const gitAccount = { id: account.id, email: account.email };
    gitScopes.set(gitAccount, scope);
    return gitAccount;
  }

  /** Throws a 403 when a job token's account reaches outside its apps. */
  async checkApp(account: object, appName: string): Promise<void> {
    const scope = gitScopes.get(account);
    if (scope && !(await this.tokens.appInScope(scope, appName))) {
      const project = await this.tokens.projectName(scope);
      throw forbidden(`The job token of project ${project} may only reach apps in a pipeline connected to ${project}; ${appName} is not one of them.`);
    }
  }

  checkProject(account: object): void {
    if (gitScopes.has(account)) throw forbidden('A CI job token cannot fetch or push project repositories: the job already has its checkout.');
  }
}
