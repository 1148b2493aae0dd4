import { createInterface } from 'node:readline';
import type { GitPush, PushResult } from './types.js';
import type { AppService } from '../apps/apps.js';
import type { AccountService } from '../auth/accounts.js';
import type { ReleaseService } from '../release/releases.js';
import { releaseOutputKey } from '../release/releases.js';
import type { OutputStore } from '../logs/output-store.js';
import type { DynoManager } from '../runtime/dyno-manager.js';
import type { PublicUrls } from '../core/urls.js';
import { buildOutputKey, deployedLine, type BuildService } from '../deploy/builds.js';

export interface GitDeployDeps {
  apps: AppService;
  accounts: AccountService;
  builds: BuildService;
  releases: ReleaseService;
  outputs: OutputStore;
  dynos: DynoManager;
  urls: PublicUrls;
}

/** Copies an output stream to the pusher line by line until it ends. */
async function relay(outputs: OutputStore, key: string, out: (line: string) => void): Promise<void> {
  const lines = createInterface({ input: outputs.read(key), crlfDelay: Infinity });
  for await (const line of lines) out(line);
}

/**
 * A push to main/master: build the pushed commit, release it, and report back as
 * `remote:` lines, ending with the app's URL once the release is live. The push is rejected
 * (and the ref left alone) when the build or the release phase fails, so the app keeps
 * serving its current release.
 */
export function gitPushHandler(deps: GitDeployDeps) {
  return async function onPush(push: GitPush): Promise<PushResult> {
    const account = await deps.accounts.getById(push.account.id);
    if (!account) return { ok: false, message: 'Your account no longer exists.' };
    const app = await deps.apps.resolve(account, push.appName);
    const build = await deps.builds.createFromArchive(app, account, push.archivePath, push.newSha, { announceUrl: false });
    const streaming = relay(deps.outputs, buildOutputKey(build.id), push.out);
    const outcome = await deps.builds.outcome(build.id);
    await streaming;
    if (!outcome || outcome.build.status !== 'succeeded' || !outcome.release) {
      return { ok: false, message: `Push rejected: the build failed (build ${build.id}).` };
    }
    let release = outcome.release;
    const phase = release.status === 'pending';
    if (phase) {
      push.out('-----> Running release command...');
      await relay(deps.outputs, releaseOutputKey(release.id), (line) => push.out(`       ${line}`));
      release = await deps.releases.settle(release);
    }
    if (release.status !== 'succeeded') {
      const running = (await deps.releases.current(app.id))?.slug_id
        ? 'the app keeps running its current release'
        : `nothing was deployed (${app.name} has no deployed code yet)`;
      return { ok: false, message: `Push rejected: the release phase of v${release.version} failed; ${running}.` };
    }
    if (phase) push.out(`       Released v${release.version}`);
    await waitForWebDynos(deps, app.id, release.version, push.out);
    push.out(`       ${deployedLine(deps.urls, app.name, (await deps.releases.slug(release.slug_id))?.size)}`);
    return { ok: true };
  };
}

/** Waits until the dynos have converged to the new release, so the push ends when the app answers. */
async function waitForWebDynos(deps: GitDeployDeps, appId: string, version: number, out: (line: string) => void): Promise<void> {
  // A reconcile queued now runs after the one the release triggered, which waits for web dynos to boot.
  await deps.dynos.reconcile(appId);
  const web = deps.dynos.list(appId).filter((d) => d.type === 'web' && d.version === version);
  if (web.some((d) => d.state === 'up')) out('-----> Web dynos are up.');
  else if (web.length > 0) out(' !     The web dynos did not come up; see `slipway logs` for why.');
}
