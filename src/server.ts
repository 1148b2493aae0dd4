/**
 * Composition root: builds every service, wires them together and starts the servers.
 * Nothing else constructs services, so this file is the map of the whole platform.
 */
import http from 'node:http';
import tls from 'node:tls';
import { join } from 'node:path';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SlipwayConfig } from './config.js';
import { openStore, type Store } from './store/db.js';
import { EventBus } from './core/events.js';
import { PublicUrls } from './core/urls.js';
import { AccountService, type Account } from './auth/accounts.js';
import type { ProjectRow } from './store/schema.js';
import { AppService } from './apps/apps.js';
import { DomainService } from './apps/domains.js';
import { CollaboratorService } from './apps/collaborators.js';
import { ReleaseService } from './release/releases.js';
import { LogHub } from './logs/log-hub.js';
import { OutputStore } from './logs/output-store.js';
import { FormationService } from './runtime/formation.js';
import { DynoManager } from './runtime/dyno-manager.js';
import { OneOffRunner } from './runtime/one-off.js';
import { currentProcessTypes } from './runtime/desired-state.js';
import { createLocalRuntime } from './runtime/local/index.js';
import { BuildpackBuilder } from './build/buildpack-builder.js';
import { SourceService } from './deploy/sources.js';
import { BuildService } from './deploy/builds.js';
import { gitPushHandler } from './git/deploy-on-push.js';
import { registerGitRoutes, ensureAppRepo, ensureProjectRepo, deleteAppRepo } from './git/index.js';
import { createRouter, frontDoor } from './router/index.js';
import { RouteDirectory } from './router/route-directory.js';
import { createApi } from './api/server.js';
import { serveRendezvous } from './api/rendezvous.js';
import { loadOrCreateTls } from './tls/certificates.js';
import type { ReleasePhaseRunner } from './release/releases.js';
import { WebhookService } from './webhooks/service.js';
import { PipelineService } from './flow/pipelines.js';
import { PromotionService } from './flow/promotions.js';
import { StagePolicyService } from './flow/approvals-policy.js';
import { PipelineInfoService } from './flow/pipeline-info.js';
import { PipelineDiffService } from './flow/diff-service.js';
import { PromotionViews } from './flow/promotion-views.js';
import { apiResourceSource } from './api/webhook-payloads.js';
import { handOverSharedSlugs } from './flow/slug-handover.js';
import { ManifestService } from './apps/manifest.js';
import { AppSetupService } from './deploy/app-setups.js';
import { ProjectService } from './projects/projects.js';
import { CiService } from './projects/ci.js';
import { createCiSettings } from './projects/ci-settings.js';
import { isJobToken } from './projects/job-tokens.js';
import { defaultBranch } from './projects/repository.js';
import { MergeRequestService } from './projects/merge-requests/index.js';
import { ScheduleService } from './projects/schedules/service.js';
import { TriggerTokenService } from './projects/trigger-tokens.js';
import { appRepoPath, projectRepoPath } from './git/repos.js';
import { createFlowAutomation } from './flow/automation.js';

export interface RunningSlipway {
  httpPort: number;
  httpsPort: number;
  store: Store;
  bootstrapKey: string | null;
  adminEmail: string;
  isolation: string;
  caPath: string;
  close(): Promise<void>;
}

const HTTP_METHOD = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) /;

export async function startSlipway(config: SlipwayConfig): Promise<RunningSlipway> {
  // State, keys and config vars live here: only Slipway's own user may read them.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: join(config.dataDir, 'slipway.db') });
  const { db } = store;
  const events = new EventBus();
  const urls = new PublicUrls(config.publicHost, config.appsDomain);
  const logs = new LogHub();
  const outputs = new OutputStore(join(config.dataDir, 'output'));
  const reposDir = join(config.dataDir, 'repos');
  const tlsMaterial = loadOrCreateTls(config.dataDir, ['localhost', '127.0.0.1', '::1', `*.${config.appsDomain}`, config.publicHost]);

  const runtime = await createLocalRuntime({ dataDir: config.dataDir, sandbox: config.sandbox });
  const oneOffs = new OneOffRunner(db, runtime, logs, config.stopTimeoutMs);
  const phaseRunner: ReleasePhaseRunner = oneOffs;
  const accounts = new AccountService(db);
  const releases = new ReleaseService(db, events, logs, outputs, phaseRunner);
  const apps = new AppService(db, events, {
    created: async (app) => void (await ensureAppRepo(reposDir, app.name)),
    destroying: async (app) => void (await handOverSharedSlugs(db, config.dataDir, app)),
    destroyed: async (app) => {
      await deleteAppRepo(reposDir, app.name);
      for (const dir of ['slugs', 'cache']) rmSync(join(config.dataDir, dir, app.id), { recursive: true, force: true });
      logs.forget(app.id);
    },
  });
  const domains = new DomainService(db, events, apps, config.appsDomain.toLowerCase());
  const collaborators = new CollaboratorService(db, accounts);
  const formation = new FormationService(db, (appId) => currentProcessTypes(db, appId), events);
  const dynos = new DynoManager({ db, runtime, formation, logs, events, stopTimeoutMs: config.stopTimeoutMs, bootTimeoutMs: config.bootTimeoutMs, oneOffs });
  const builder = new BuildpackBuilder({ buildpacksCacheDir: join(config.dataDir, 'buildpacks') });
  const sources = new SourceService(db, config.dataDir, urls, config.maxBodyBytes);
  const builds = new BuildService({ db, builder, releases, sources, outputs, logs, events, urls, dataDir: config.dataDir, maxSourceBytes: config.maxBodyBytes });
  const manifests = new ManifestService({
    db,
    apps,
    releases,
    logs,
    events,
    runner: { runPostdeploy: (input) => oneOffs.runReleasePhase({ ...input, type: 'postdeploy' }) },
  });
  const appSetups = new AppSetupService({ db, apps, manifests, builds, releases, sources, urls, logs, dataDir: config.dataDir, maxSourceBytes: config.maxBodyBytes });

  const bootstrap = await accounts.bootstrap(config.adminEmail, config.bootstrapApiKey);
  const webhooks = new WebhookService({ db, events, logs });
  webhooks.setResourceSource(apiResourceSource({ urls, accounts, apps, releases, builds, formation, dynos }));
  const pipelines = new PipelineService(db, apps);
  const stagePolicies = new StagePolicyService(db, pipelines);
  const promotions = new PromotionService({ db, apps, pipelines, releases, accounts, policies: stagePolicies });
  const pipelineFlow = {
    policies: stagePolicies,
    info: new PipelineInfoService(db, pipelines, stagePolicies),
    diff: new PipelineDiffService(db, apps, pipelines, { appRepo: (name) => appRepoPath(reposDir, name), projectRepo: (name) => projectRepoPath(reposDir, name) }),
    views: new PromotionViews(db),
  };
  await builds.failInterrupted();
  await releases.failInterrupted();
  await promotions.failInterrupted();
  await manifests.failInterrupted();
  await appSetups.failInterrupted();
  const projects = new ProjectService(db, { created: async (project) => void (await ensureProjectRepo(reposDir, project.name)) });
  const ciSettings = createCiSettings({ db, dataDir: config.dataDir, apiUrl: () => urls.internal, defaultBranch: (project) => defaultBranch(projectRepoPath(reposDir, project.name)), account: (id) => accounts.getById(id) });
  const ci = new CiService({ db, outputs, events, dataDir: config.dataDir, baseUrl: () => urls.http, sandbox: config.sandbox === 'none' ? 'off' : config.sandbox === 'bwrap' ? 'on' : 'auto', extensions: ciSettings.extensions, ...(config.ciConcurrency ? { concurrency: config.ciConcurrency } : {}) });
  await ci.failInterrupted();
  ciSettings.environments.setStopJobRunner((job, userId) => ci.play(job, userId));
  await ciSettings.start(config.environmentCheckMs);
  await ci.resume();
  // Schedules and trigger tokens run as their owner, who must still have access to the project.
  const mayUseProject = (account: Account, project: ProjectRow) => projects.resolve(account, project.id).then(() => true, () => false);
  const schedules = new ScheduleService({
    db,
    ci,
    account: (id) => accounts.getById(id),
    mayUse: mayUseProject,
  });
  schedules.start(config.scheduleCheckMs);
  const triggerTokens = new TriggerTokenService({ db, ci, account: (id) => accounts.getById(id), mayUse: mayUseProject });
  const mergeRequests = new MergeRequestService({ db, events, ci, environments: ciSettings.environments, protectedRefs: ciSettings.protectedRefs, repoDir: (project) => projectRepoPath(reposDir, project.name) });
  const flowAutomation = createFlowAutomation({
    db,
    events,
    accounts,
    apps,
    appSetups,
    builds,
    sources,
    releases,
    projects,
    pipelines,
    ci,
    testRunner: { runTest: (input) => oneOffs.runReleasePhase({ ...input, type: 'test' }) },
    repoDir: (project) => projectRepoPath(reposDir, project.name),
    tmpDir: join(config.dataDir, 'tmp'),
    appUrl: (name) => urls.appWebUrl(name),
  });
  mergeRequests.setReviewApps(flowAutomation.reviewApps);
  await flowAutomation.failInterrupted();
  await webhooks.resume();

  const directory = new RouteDirectory(db, config.appsDomain.toLowerCase(), (appId) => dynos.webBackends(appId), events);
  await directory.reload();
  const router = createRouter({
    table: directory,
    log: ({ appId, message }) => logs.append(appId, 'slipway', 'router', message),
  });

  // One Fastify app serves both the plain and the TLS listener.
  let dispatch: http.RequestListener = () => undefined;
  const httpServer = http.createServer((req, res) => {
    if (!router.handleRequest(req, res)) dispatch(req, res);
  });
  const api = createApi(
    { config, db, urls, accounts, apps, domains, collaborators, releases, builds, sources, formation, dynos, oneOffs, logs, outputs, webhooks, pipelines, promotions, pipelineFlow, manifests, appSetups, projects, ci, ciSettings, mergeRequests, schedules, triggerTokens, flowAutomation, caPem: tlsMaterial.caPem },
    {
      serverFactory: (handler) => {
        dispatch = handler;
        return httpServer;
      },
      register: (app) =>
        registerGitRoutes(app, {
          reposDir,
          authenticate: (key) => (isJobToken(key) ? ciSettings.git.authenticate(key) : accounts.authenticate(key)),
          authorize: async (account, appName) => {
            await ciSettings.git.checkApp(account, appName);
            const actor = await accounts.getById(account.id);
            if (!actor) throw new Error('account vanished');
            await apps.resolve(actor, appName);
          },
          onPush: gitPushHandler({ apps, accounts, builds, releases, outputs, dynos, urls }),
          projects: {
            authorize: async (account, name) => {
              const project = await projects.find(name);
              if (!project) return false;
              ciSettings.git.checkProject(account);
              const actor = await accounts.getById(account.id);
              if (!actor) throw new Error('account vanished');
              await projects.resolve(actor, name);
              return true;
            },
            pushRules: async (name) => {
              const project = await projects.find(name);
              return project ? ciSettings.protectedRefs.pushRules(project) : { project: name, branches: [], tags: [] };
            },
            onPush: async (push) => {
              const project = await projects.find(push.projectName);
              if (!project) return push.out(`The project ${push.projectName} no longer exists: no pipeline.`);
              await ci.onPush({ project, repoDir: push.repoDir, userId: push.account.id, userEmail: push.account.email, updates: push.updates, out: push.out });
            },
          },
          internalUrl: () => urls.internal,
        }),
    },
  );
  httpServer.on('upgrade', (req, socket, head) => {
    if (!router.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await api.ready();
  // The router reads app requests off each connection itself; others go on to httpServer.
  frontDoor(httpServer, router);

  // TLS port: HTTP(S) for the API, git and apps, plus the `run` rendezvous protocol.
  const decrypted = http.createServer((req, res) => {
    if (!router.handleRequest(req, res)) dispatch(req, res);
  });
  decrypted.on('upgrade', (req, socket, head) => {
    if (!router.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const tlsServer = tls.createServer({ key: tlsMaterial.keyPem, cert: tlsMaterial.certPem }, (socket) => {
    socket.once('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (HTTP_METHOD.test(text)) {
        socket.unshift(chunk);
        router.serveConnection(socket, (s) => decrypted.emit('connection', s));
        return;
      }
      // Hold the client's stdin until the rendezvous is ready to forward it.
      socket.pause();
      const end = text.indexOf('\n');
      const firstLine = end >= 0 ? text.slice(0, end) : text;
      const rest = end >= 0 ? chunk.subarray(end + 1) : Buffer.alloc(0);
      serveRendezvous(socket, firstLine, rest, oneOffs).catch(() => socket.destroy());
    });
    socket.on('error', () => undefined);
  });
  tlsServer.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.bindAddress, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(config.httpsPort, config.bindAddress, () => resolve());
  });
  const httpPort = (httpServer.address() as AddressInfo).port;
  const httpsPort = (tlsServer.address() as AddressInfo).port;
  urls.setPorts(httpPort, httpsPort);

  // Converge dynos in the background: the API is usable while apps boot.
  void dynos.start();
  flowAutomation.start();
  const pruner = setInterval(() => void sources.prune(), 3600_000);
  pruner.unref();

  return {
    httpPort,
    httpsPort,
    store,
    bootstrapKey: bootstrap.apiKey,
    adminEmail: bootstrap.account.email,
    isolation: runtime.isolation,
    caPath: tlsMaterial.caPath,
    async close() {
      clearInterval(pruner);
      ciSettings.close();
      schedules.stop();
      flowAutomation.close();
      webhooks.close();
      httpServer.close();
      tlsServer.close();
      httpServer.closeAllConnections?.();
      router.close();
      await dynos.shutdown();
      await api.close().catch(() => undefined);
      await store.close();
    },
  };
}
