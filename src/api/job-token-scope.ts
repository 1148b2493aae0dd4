/**
 * What a CI job token (CI_JOB_TOKEN) may do through the API. It acts as the user who started
 * the pipeline, but only on deploy endpoints, and only for apps coupled to a pipeline (Heroku
 * sense) connected to the job's project. Config vars, dynos, collaborators, other projects…
 * need an API key (e.g. SLIPWAY_API_KEY as a masked, protected CI/CD variable).
 */
import type { FastifyRequest } from 'fastify';
import type { Account, AccountService } from '../auth/accounts.js';
import type { CiSettingsServices } from '../projects/ci-settings.js';
import { forbidden, unauthorized } from '../core/errors.js';

/** `METHOD /route` a job token may call. */
export const JOB_TOKEN_ROUTES: ReadonlySet<string> = new Set([
  'GET /apps/:app',
  'POST /sources',
  'POST /apps/:app/sources',
  'POST /apps/:app/builds',
  'GET /apps/:app/builds',
  'GET /apps/:app/builds/:build',
  'GET /apps/:app/releases',
  'GET /apps/:app/releases/:release',
]);

export async function jobTokenActor(deps: { accounts: AccountService; ciSettings: CiSettingsServices }, request: FastifyRequest, token: string): Promise<Account> {
  const { jobTokens } = deps.ciSettings;
  const scope = await jobTokens.authenticate(token);
  if (!scope) throw unauthorized('This CI job token is not valid: it is wrong, or its job is no longer running.');
  const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
  if (!JOB_TOKEN_ROUTES.has(route)) {
    throw forbidden(`A CI job token may only deploy (builds, sources, reading the app and its releases); ${request.method} ${request.url.split('?')[0]} needs an API key.`);
  }
  const app = (request.params as { app?: string }).app;
  if (app !== undefined && !(await jobTokens.appInScope(scope, app))) {
    const project = await jobTokens.projectName(scope);
    throw forbidden(`The job token of project ${project} may only deploy to apps in a pipeline connected to ${project}; ${app} is not one of them.`);
  }
  const account = await deps.accounts.getById(scope.userId);
  if (!account) throw unauthorized('This CI job token is not valid: the account that started the pipeline is gone.');
  return account;
}
