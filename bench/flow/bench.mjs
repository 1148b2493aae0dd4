// Heroku Flow timings against a running Slipway (bench/flow/run.sh starts one and sets the env):
//   promote — POST /pipeline-promotions (shop-staging → shop-prod) until production's router
//             answers 200 from a dyno of the new production release;
//   review  — POST /projects/shop/merge_requests until the review app answers 200 through the router.
// Env: SLIPWAY_URL, SLIPWAY_PORT, API_KEY, BENCH_TMP, BENCH_ROOT; PROMOTE_RUNS (10),
// REVIEW_RUNS (5), ONLY (promote|review). Prints Markdown tables on stdout, progress on stderr.
import { execFileSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const { SLIPWAY_URL, SLIPWAY_PORT, API_KEY, BENCH_TMP, BENCH_ROOT } = process.env;
const PROMOTE_RUNS = Number(process.env.PROMOTE_RUNS || 10);
const REVIEW_RUNS = Number(process.env.REVIEW_RUNS || 5);
const ONLY = process.env.ONLY || '';
const POLL_MS = 20;
const TIMEOUT_MS = 180_000;

const log = (...a) => console.error('[flow-bench]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, path, body, headers = {}) {
  const res = await fetch(SLIPWAY_URL + path, {
    method,
    headers: {
      Authorization: `Bearer ${API_KEY}`,
      Accept: 'application/vnd.heroku+json; version=3',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** One GET through Slipway's router on a fresh connection, as a first visitor would. */
function routerGet(host, path) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: Number(SLIPWAY_PORT), path, headers: { Host: host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(10_000, () => req.destroy());
    req.end();
  });
}

/** Polls until check() returns a truthy value; returns it. */
async function until(what, check, pollMs = POLL_MS) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

const host = (app) => `${app}.localhost`;
const appServes = (app, version) => async () => {
  const r = await routerGet(host(app), '/config/HEROKU_RELEASE_VERSION');
  return r.status === 200 && (version === undefined || r.body === version) ? r : null;
};
const newestRelease = async (app) => (await api('GET', `/apps/${app}/releases`, undefined, { Range: 'version ..; order=desc,max=1' }))[0];

function git(cwd, ...args) {
  return execFileSync('git', ['-c', 'user.email=bench@slipway.local', '-c', 'user.name=bench', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}
const remote = (name) => `http://bench:${API_KEY}@127.0.0.1:${SLIPWAY_PORT}/${name}.git`;

function exampleRepo(dir) {
  cpSync(join(BENCH_ROOT, 'examples', 'node-app'), dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'node-app');
  return dir;
}

const ms = (a, b) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0], max: s[s.length - 1] };
}
const sec = (x) => `${(x / 1000).toFixed(2)} s`;
function table(xs) {
  const r = stats(xs);
  return ['| runs | median | mean | min | max |', '|---:|---:|---:|---:|---:|', `| ${r.n} | ${sec(r.median)} | ${sec(r.mean)} | ${sec(r.min)} | ${sec(r.max)} |`].join('\n');
}
function breakdownTable(rows, columns) {
  const out = [`| part | ${columns.map((c) => c[0]).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  out.push(`| median | ${columns.map(([, k]) => sec(stats(rows.map((r) => r[k])).median)).join(' | ')} |`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Shared set-up: pipeline shop with shop-staging (staging) and shop-prod (production).

async function setUpPipeline() {
  await api('POST', '/apps', { name: 'shop-staging' });
  await api('POST', '/apps', { name: 'shop-prod' });
  await api('POST', '/pipelines', { name: 'shop' });
  await api('POST', '/pipeline-couplings', { app: 'shop-staging', pipeline: 'shop', stage: 'staging' });
  await api('POST', '/pipeline-couplings', { app: 'shop-prod', pipeline: 'shop', stage: 'production' });
}

// ---------------------------------------------------------------------------------------------
// 1. Promotion staging → production.

/** A new staging release (a config change) that is live before the clock starts. */
async function newStagingRelease(round) {
  await api('PATCH', '/apps/shop-staging/config-vars', { BENCH_ROUND: String(round) });
  const rel = await until('the staging release to finish', async () => {
    const r = await newestRelease('shop-staging');
    if (r.status === 'failed') throw new Error(`staging release v${r.version} failed`);
    return r.status === 'succeeded' ? r : null;
  }, 50);
  await until('staging to serve the new release', appServes('shop-staging', `v${rel.version}`), 50);
  return rel;
}

async function promoteOnce(round) {
  const staging = await newStagingRelease(round);
  const before = await newestRelease('shop-prod').catch(() => undefined);
  const want = `v${(before?.version ?? 0) + 1}`;
  await sleep(300); // let staging's old dyno finish stopping
  const t0 = performance.now();
  const promotion = await api('POST', '/pipeline-promotions', { pipeline: { id: 'shop' }, source: { app: { id: 'shop-staging' } } });
  const tPost = performance.now();
  await until(`shop-prod to serve ${want}`, appServes('shop-prod', want));
  const t1 = performance.now();

  // Afterwards (not timed): what the promotion did, for the breakdown and a sanity check.
  const record = await api('GET', `/pipeline-promotions/${promotion.id}/record`);
  const prod = await newestRelease('shop-prod');
  if (`v${prod.version}` !== want) throw new Error(`expected shop-prod ${want}, newest is v${prod.version}`);
  if (prod.slug?.id !== staging.slug?.id) throw new Error(`shop-prod v${prod.version} runs slug ${prod.slug?.id}, staging ${staging.slug?.id}: not the same slug`);
  if (prod.output_stream_url) {
    const phase = await (await fetch(prod.output_stream_url)).text();
    if (!phase.includes(`release phase ran for ${want}`)) throw new Error(`shop-prod ${want}: the release phase output does not show it ran: ${phase.slice(0, 300)}`);
  } else throw new Error(`shop-prod ${want} has no release phase output`);
  const total = t1 - t0;
  const releaseDone = ms(prod.created_at, prod.updated_at);
  return { total, post: tPost - t0, release: releaseDone, record, prod, want };
}

async function benchPromotion() {
  log('promotion: set-up');
  const repo = exampleRepo(join(BENCH_TMP, 'repo-staging'));
  git(repo, 'push', '-q', remote('shop-staging'), 'main');
  const first = await newestRelease('shop-staging');
  await until('staging to answer', appServes('shop-staging', `v${first.version}`), 50);
  log('promotion: warm-up (first promotion boots production\'s first dyno)');
  const warm = await promoteOnce(0);
  log(`  warm-up: ${sec(warm.total)}`);
  const rows = [];
  for (let i = 1; i <= PROMOTE_RUNS; i++) {
    const r = await promoteOnce(i);
    rows.push(r);
    log(`  run ${i}: ${sec(r.total)} (POST answered ${r.post.toFixed(0)} ms; shop-prod ${r.want} release created→updated ${r.release} ms)`);
  }
  writeFileSync(join(BENCH_TMP, 'promote-last-record.json'), JSON.stringify(rows.at(-1).record, null, 2));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 2. Review app from a merge request.

async function benchReviewApps() {
  log('review apps: set-up');
  await api('POST', '/projects', { name: 'shop' });
  await api('PATCH', '/pipelines/shop/connection', { project: 'shop' });
  await api('POST', '/pipelines/shop/review-app-config', { automatic_review_apps: true });
  const repo = exampleRepo(join(BENCH_TMP, 'repo-project'));
  git(repo, 'push', '-q', remote('shop'), 'main');

  const rows = [];
  for (let i = 1; i <= REVIEW_RUNS; i++) {
    const branch = `feature-${i}-${Date.now().toString(36)}`;
    // With automatic review apps a branch push alone makes a review app; to time the merge
    // request, the branch is pushed while automatic review apps are off, then turned back on.
    await api('PATCH', '/pipelines/shop/review-app-config', { automatic_review_apps: false });
    git(repo, 'checkout', '-q', '-B', branch, 'main');
    writeFileSync(join(repo, 'feature.txt'), `${branch}\n`);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', `feature ${i}`);
    git(repo, 'push', '-q', remote('shop'), branch);
    git(repo, 'checkout', '-q', 'main');
    await api('PATCH', '/pipelines/shop/review-app-config', { automatic_review_apps: true });
    const stray = (await api('GET', '/pipelines/shop/review-apps')).filter((r) => r.branch === branch);
    if (stray.length) throw new Error(`the push of ${branch} made a review app already`);
    await sleep(300);

    const t0 = performance.now();
    const mr = await api('POST', '/projects/shop/merge_requests', { source_branch: branch, target_branch: 'main', title: `Feature ${i}` });
    const tPost = performance.now();
    let review;
    await until(`the review app of !${mr.iid} to answer`, async () => {
      if (!review) {
        review = (await api('GET', '/pipelines/shop/review-apps')).find((r) => r.branch === branch && r.app);
        if (!review) return null;
      }
      const r = await routerGet(host(review.app.name), '/config/HEROKU_APP_NAME');
      if (r.status === 200 && r.body === review.app.name) return r;
      return null;
    });
    const t1 = performance.now();
    // Then (after the clock above stopped): until the review app is `created`, when the merge
    // request shows its URL.
    await until(`the review app of !${mr.iid} to be created`, async () => {
      const m = await api('GET', `/projects/shop/merge_requests/${mr.iid}`);
      return m.review_app?.url ? m : null;
    });
    const t2 = performance.now();

    // Afterwards (not timed): where the time went, from the records' timestamps.
    const ra = await api('GET', `/review-apps/${review.id}`);
    const mrJson = await api('GET', `/projects/shop/merge_requests/${mr.iid}`);
    const setup = ra.app_setup ? await api('GET', `/app-setups/${ra.app_setup.id}`) : null;
    const builds = await api('GET', `/apps/${review.app.name}/builds`);
    const build = builds.at(-1);
    const rel = await newestRelease(review.app.name);
    const row = {
      total: t1 - t0,
      shown: t2 - t0,
      post: tPost - t0,
      toSetup: setup ? ms(mr.created_at, setup.created_at) : NaN,
      build: build ? ms(build.created_at, build.updated_at) : NaN,
      setupDone: setup ? ms(setup.created_at, setup.updated_at) : NaN,
      release: ms(rel.created_at, rel.updated_at),
      app: review.app.name,
      status: ra.status,
      mrUrl: mrJson.review_app?.url ?? null,
    };
    rows.push(row);
    log(`  run ${i}: ${sec(row.total)} (${row.app}, MR→app setup ${row.toSetup} ms, build ${row.build} ms, setup ${row.setupDone} ms; MR shows ${row.mrUrl} after ${sec(row.shown)})`);

    // Clean up: closing the merge request destroys the review app; wait until it is gone.
    await api('POST', `/projects/shop/merge_requests/${mr.iid}/close`);
    await until(`review app ${row.app} to be deleted`, async () => (await api('GET', `/review-apps/${review.id}`)).status === 'deleted', 100);
    await sleep(500);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

await setUpPipeline();
const out = [];
if (ONLY !== 'review') {
  const rows = await benchPromotion();
  out.push('### Promotion staging → production, to the first 200 from production\'s router', '', table(rows.map((r) => r.total)), '');
  out.push(breakdownTable(rows, [['POST /pipeline-promotions answered', 'post'], ['production release created → succeeded (record times)', 'release'], ['total', 'total']]), '');
  out.push(`runs (s): ${rows.map((r) => (r.total / 1000).toFixed(2)).join(', ')}`, '');
}
if (ONLY !== 'promote') {
  const rows = await benchReviewApps();
  out.push('### Review app from a merge request, to the first 200 through the router', '', table(rows.map((r) => r.total)), '');
  out.push(breakdownTable(rows, [['POST merge_requests answered', 'post'], ['MR → app setup recorded', 'toSetup'], ['build (created → updated)', 'build'], ['app setup (created → updated)', 'setupDone'], ['total (first 200)', 'total'], ['MR shows the URL', 'shown']]), '');
  out.push(`runs (s): ${rows.map((r) => (r.total / 1000).toFixed(2)).join(', ')}`, '');
}
console.log(out.join('\n'));
