import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database, AppRow, ProjectRow } from '../store/schema.js';
import type { Account, AccountService } from '../auth/accounts.js';
import type { AppService } from '../apps/apps.js';
import type { DomainService } from '../apps/domains.js';
import type { CollaboratorService } from '../apps/collaborators.js';
import type { ReleaseService } from '../release/releases.js';
import type { BuildService } from '../deploy/builds.js';
import type { SourceService } from '../deploy/sources.js';
import type { FormationService } from '../runtime/formation.js';
import type { DynoManager } from '../runtime/dyno-manager.js';
import type { OneOffRunner } from '../runtime/one-off.js';
import type { LogHub } from '../logs/log-hub.js';
import type { OutputStore } from '../logs/output-store.js';
import type { WebhookService } from '../webhooks/service.js';
import type { PipelineService } from '../flow/pipelines.js';
import type { PromotionService } from '../flow/promotions.js';
import type { StagePolicyService } from '../flow/approvals-policy.js';
import type { PipelineInfoService } from '../flow/pipeline-info.js';
import type { PipelineDiffService } from '../flow/diff-service.js';
import type { PromotionViews } from '../flow/promotion-views.js';
import type { ManifestService } from '../apps/manifest.js';
import type { AppSetupService } from '../deploy/app-setups.js';
import type { ProjectService } from '../projects/projects.js';
import type { CiService } from '../projects/ci.js';
import type { CiSettingsServices } from '../projects/ci-settings.js';
import { isJobToken } from '../projects/job-tokens.js';
import { jobTokenActor } from './job-token-scope.js';
import type { MergeRequestService } from '../projects/merge-requests/index.js';
import type { ScheduleService } from '../projects/schedules/service.js';
import type { TriggerTokenService } from '../projects/trigger-tokens.js';
import type { FlowAutomation } from '../flow/automation.js';
import type { PublicUrls } from '../core/urls.js';
import type { SlipwayConfig } from '../config.js';
import { unauthorized } from '../core/errors.js';

/** The services the HTTP API is a thin shell over. */
export interface ApiDeps {
  config: SlipwayConfig;
  db: Kysely<Database>;
  urls: PublicUrls;
  accounts: AccountService;
  apps: AppService;
  domains: DomainService;
  collaborators: CollaboratorService;
  releases: ReleaseService;
  builds: BuildService;
  sources: SourceService;
  formation: FormationService;
  dynos: DynoManager;
  oneOffs: OneOffRunner;
  logs: LogHub;
  outputs: OutputStore;
  webhooks: WebhookService;
  pipelines: PipelineService;
  promotions: PromotionService;
  /** Slipway's own pipeline features: approval policies, pipelines:info, pipelines:diff, promotion records. */
  pipelineFlow: { policies: StagePolicyService; info: PipelineInfoService; diff: PipelineDiffService; views: PromotionViews };
  manifests: ManifestService;
  appSetups: AppSetupService;
  /** CI projects and their pipelines (server-mode CI). */
  projects: ProjectService;
  ci: CiService;
  /** Project CI settings: variables, protected refs, job tokens, environments. */
  ciSettings: CiSettingsServices;
  /** Merge requests on CI projects. */
  mergeRequests: MergeRequestService;
  /** Pipeline schedules of CI projects. */
  schedules: ScheduleService;
  /** Pipeline trigger tokens of CI projects. */
  triggerTokens: TriggerTokenService;
  /** Pipeline automation: connections to CI projects, auto-deploy, test runs, review apps. */
  flowAutomation: FlowAutomation;
  /** PEM of the CA that signs Slipway's HTTPS certificate. */
  caPem: string;
}

/** The API key of a request: `Authorization: Bearer <key>`, or the password of HTTP Basic. */
export function apiKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value?.trim() || undefined;
  if (/^basic$/i.test(scheme) && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) || undefined : undefined;
  }
  return undefined;
}

const ACCOUNT = Symbol('account');

export async function actorOf(deps: ApiDeps, request: FastifyRequest): Promise<Account> {
  const cached = (request as unknown as Record<symbol, Account | undefined>)[ACCOUNT];
  if (cached) return cached;
  const key = apiKeyOf(request);
  if (!key) throw unauthorized('No API key was given: send "Authorization: Bearer <key>" (log in with `slipway login`).');
  // A CI job token (CI_JOB_TOKEN) is scoped to deploying its project's apps.
  const account = isJobToken(key) ? await jobTokenActor(deps, request, key) : await deps.accounts.authenticate(key);
  if (!account) throw unauthorized('Invalid credentials provided: this API key is wrong or was revoked.');
  (request as unknown as Record<symbol, Account>)[ACCOUNT] = account;
  return account;
}

/** The app named in the URL, after checking the caller may use it. */
export async function appOf(deps: ApiDeps, request: FastifyRequest): Promise<{ actor: Account; app: AppRow }> {
  const actor = await actorOf(deps, request);
  const { app: idOrName } = request.params as { app: string };
  const app = await deps.apps.resolve(actor, idOrName);
  return { actor, app };
}

/** The CI project named in the URL, after checking the caller may use it. */
export async function projectOf(deps: ApiDeps, request: FastifyRequest): Promise<{ actor: Account; project: ProjectRow }> {
  const actor = await actorOf(deps, request);
  const project = await deps.projects.resolve(actor, (request.params as { project: string }).project);
  return { actor, project };
}

/** id + email of an account, for nested `user`/`owner` fields. */
export async function userRef(deps: ApiDeps, accountId: string): Promise<{ id: string; email: string }> {
  const account = await deps.accounts.getById(accountId);
  return { id: accountId, email: account?.email ?? 'deleted-account@slipway.local' };
}
