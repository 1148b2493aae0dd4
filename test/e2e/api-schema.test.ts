/**
 * Every endpoint of the HTTP API answers with bodies that validate against the Heroku Platform
 * API schema (shared/spec/heroku-platform-api.schema.json, strictProperties enforced), and
 * follows its wire conventions: Range/Next-Range, Accept variants, Request-Id, error bodies.
 *
 * The last test checks that every route registered in src/api was exercised here, so a new
 * endpoint fails this file until it is covered (and its response shape validated).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlipway, waitFor, ROOT, EXAMPLES, type Slipway, type ApiResponse } from '../helpers/slipway.js';
import { exec, git } from '../helpers/exec.js';
import { deployExample, gitUrl } from '../helpers/flow.js';
import { validateDefinition, validateResponse } from '../helpers/heroku-schema.js';

const APP = 'schema-shop';
const STATIC = 'schema-static';
const TEMP = 'schema-temp';

let s: Slipway;

// ---------------------------------------------------------------------------------------------
// Which routes the server registers (read from src/api), and which of them this file exercised.

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  literal: number;
}

let routes: Route[] | undefined;
const exercised = new Set<string>();

function implementedRoutes(): Route[] {
  if (routes) return routes;
  const dir = join(ROOT, 'src', 'api');
  const files = [join(dir, 'server.ts'), ...readdirSync(join(dir, 'routes')).filter((f) => f.endsWith('.ts')).map((f) => join(dir, 'routes', f))];
  const found = new Map<string, Route>();
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/\bapp\.(get|post|put|patch|delete)\(\s*['"`]([^'"`]+)['"`]/g)) {
      const method = m[1].toUpperCase();
      const pattern = m[2];
      const parts = pattern.split(/:[A-Za-z_]+/);
      const regex = new RegExp(`^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\~]/g, '\\$&')).join('[^/]+')}/?$`);
      found.set(`${method} ${pattern}`, { method, pattern, regex, literal: parts.join('').length });
    }
  }
  routes = [...found.values()];
  return routes;
}

/** Notes that a concrete request exercised the registered route it maps to. */
function record(method: string, path: string): void {
  const clean = new URL(path, 'http://x').pathname;
  const matches = implementedRoutes().filter((r) => r.method === method.toUpperCase() && r.regex.test(clean));
  if (matches.length === 0) return;
  const best = matches.reduce((a, b) => (b.literal > a.literal ? b : a));
  exercised.add(`${best.method} ${best.pattern}`);
}

// ---------------------------------------------------------------------------------------------

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** The expected status; checked before the body is validated. */
  status?: number;
}

/** One API call: checks the status, the Request-Id header and the body against the schema. */
async function call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const res = await s.api(method, path, options.body, options.headers);
  record(method, path);
  assert.ok(res.headers.get('request-id'), `${method} ${path} answered without a Request-Id header`);
  if (options.status !== undefined) assert.equal(res.status, options.status, `${method} ${path} → ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /json/, `${method} ${path}: the body is not JSON`);
  assert.notEqual(res.body, undefined, `${method} ${path}: the body does not parse as JSON: ${res.text}`);
  const errors = validateResponse(method, path, res.status, res.body);
  assert.deepEqual(errors, [], `response does not match the Heroku schema:\n${errors.join('\n')}\nbody: ${res.text.slice(0, 2000)}`);
  return res;
}

/** An error response: status, `{id, message}` shape (validated by call) and the error id. */
async function callError(method: string, path: string, status: number, id: string, options: Omit<CallOptions, 'status'> = {}): Promise<ApiResponse> {
  const res = await call(method, path, { ...options, status });
  assert.equal(res.body.id, id, `${method} ${path}: error id`);
  return res;
}

/** A request outside the JSON API (capability URLs, streams): recorded, Request-Id checked. */
async function raw(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith('http') ? path : s.url + path;
  const res = await fetch(url, { method, ...init });
  record(method, new URL(url).pathname);
  assert.ok(res.headers.get('request-id'), `${method} ${new URL(url).pathname} answered without a Request-Id header`);
  return res;
}

const pathOf = (url: string) => new URL(url).pathname;

before(async () => {
  s = await startSlipway();
  await call('POST', '/apps', { body: { name: APP }, status: 201 });
  const { push } = await deployExample(s, APP, 'node-app');
  assert.equal(push.code, 0, push.stderr);
  await waitFor('web.1 up', async () => (await s.api('GET', `/apps/${APP}/dynos/web.1`)).body?.state === 'up');
});

after(async () => {
  await s?.destroy();
});

test('account and users', async () => {
  const account = (await call('GET', '/account', { status: 200 })).body;
  const me = (await call('GET', '/users/~', { status: 200 })).body;
  assert.equal(me.id, account.id);
  assert.equal((await call('GET', `/users/${encodeURIComponent(account.email)}`, { status: 200 })).body.id, account.id);
  assert.equal((await call('GET', `/users/${account.id}`, { status: 200 })).body.email, account.email);
  await callError('GET', '/users/nobody@example.com', 404, 'not_found');
  await callError('GET', '/account/features/some-flag', 404, 'not_found');

  // Slipway's own POST /accounts is not in the Heroku schema; the account inside it is.
  const created = await s.api('POST', '/accounts', { email: 'second@example.com' });
  record('POST', '/accounts');
  assert.ok(created.headers.get('request-id'));
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(validateDefinition('account', created.body.account, 'POST /accounts .account'), []);
  assert.equal(typeof created.body.api_key, 'string');
  const other = created.body.api_key as string;
  // Another user may not read the admin's account, nor use apps it cannot access.
  await callError('GET', `/users/${account.id}`, 403, 'forbidden', { headers: { Authorization: `Bearer ${other}` } });
  const hidden = await call('GET', `/apps/${APP}`, { headers: { Authorization: `Bearer ${other}` } });
  assert.ok(hidden.status === 403 || hidden.status === 404, `another user's app: ${hidden.status}`);
  await callError('POST', '/accounts', 422, 'invalid_params', { body: { email: 'not-an-email' } });
});

test('apps: create, list, info, update, delete', async () => {
  const created = (await call('POST', '/apps', { body: { name: TEMP }, status: 201 })).body;
  assert.equal(created.name, TEMP);
  const list = (await call('GET', '/apps', { status: 200 })).body;
  assert.ok(list.some((a: any) => a.name === TEMP));
  assert.ok((await call('GET', '/users/~/apps', { status: 200 })).body.some((a: any) => a.name === APP));
  const info = (await call('GET', `/apps/${APP}`, { status: 200 })).body;
  assert.ok(info.released_at, 'a deployed app has released_at');
  assert.equal((await call('GET', `/apps/${info.id}`, { status: 200 })).body.name, APP);
  assert.equal((await call('PATCH', `/apps/${TEMP}`, { body: { maintenance: true }, status: 200 })).body.maintenance, true);
  assert.equal((await call('PATCH', `/apps/${TEMP}`, { body: { maintenance: false }, status: 200 })).body.maintenance, false);
  await callError('PATCH', `/apps/${TEMP}`, 422, 'invalid_params', { body: { maintenance: 'yes' } });
  await callError('POST', '/apps', 422, 'invalid_params', { body: { name: 'Not A Valid Name!' } });
  await call('POST', '/apps', { body: { name: TEMP }, status: 422 });
  assert.equal((await call('DELETE', `/apps/${TEMP}`, { status: 200 })).body.name, TEMP);
  const gone = await callError('GET', `/apps/${TEMP}`, 404, 'not_found');
  assert.match(gone.body.message, /Couldn't find that app/);
});

test('config vars and release config vars', async () => {
  assert.equal(typeof (await call('GET', `/apps/${APP}/config-vars`, { status: 200 })).body, 'object');
  const set = (await call('PATCH', `/apps/${APP}/config-vars`, { body: { SCHEMA_CHECK: 'yes', OTHER: 'x' }, status: 200 })).body;
  assert.equal(set.SCHEMA_CHECK, 'yes');
  const unset = (await call('PATCH', `/apps/${APP}/config-vars`, { body: { OTHER: null }, status: 200 })).body;
  assert.equal(unset.OTHER, undefined);
  const releases = (await call('GET', `/apps/${APP}/releases`, { status: 200 })).body;
  const latest = releases[releases.length - 1];
  assert.equal((await call('GET', `/apps/${APP}/releases/${latest.version}/config-vars`, { status: 200 })).body.SCHEMA_CHECK, 'yes');
  await call('GET', `/apps/${APP}/releases/${latest.id}/config-vars`, { status: 200 });
  await callError('PATCH', `/apps/${APP}/config-vars`, 422, 'invalid_params', { body: { BAD: { nested: true } } });
  await call('GET', `/apps/${APP}/releases/999/config-vars`, { status: 404 });
});

test('releases: list, info, rollback, release a slug', async () => {
  const releases = (await call('GET', `/apps/${APP}/releases`, { status: 200 })).body;
  const deploy = releases.find((r: any) => r.slug);
  assert.ok(deploy, 'the git push made a release with a slug');
  assert.equal((await call('GET', `/apps/${APP}/releases/${deploy.version}`, { status: 200 })).body.id, deploy.id);
  assert.equal((await call('GET', `/apps/${APP}/releases/${deploy.id}`, { status: 200 })).body.version, deploy.version);
  await callError('GET', `/apps/${APP}/releases/999`, 404, 'not_found');

  // The deploy ran a release command, so it has an output stream.
  assert.ok(deploy.output_stream_url, 'the deploy release has output_stream_url');
  const output = await raw('GET', deploy.output_stream_url);
  assert.equal(output.status, 200);
  assert.match(await output.text(), /release phase ran/);

  const rollback = (await call('POST', `/apps/${APP}/releases`, { body: { release: String(deploy.version) }, status: 201 })).body;
  assert.match(rollback.description, /Rollback/i);
  // v1 was made before the first build: no slug, so no rollback target (it would stop every dyno).
  const initial = releases.find((r: any) => r.version === 1);
  assert.equal(initial.slug, null);
  assert.equal(initial.eligible_for_rollback, false);
  assert.equal(deploy.eligible_for_rollback, true);
  const refused = await callError('POST', `/apps/${APP}/releases`, 422, 'invalid_params', { body: { release: initial.id } });
  assert.match(refused.body.message, /v1 \(Initial release\) has no build.*slipway releases/);
  const bySlug = (await call('POST', `/apps/${APP}/releases`, { body: { slug: deploy.slug.id, description: 'schema check' }, status: 201 })).body;
  assert.equal(bySlug.slug.id, deploy.slug.id);
  await callError('POST', `/apps/${APP}/releases`, 422, 'invalid_params', { body: {} });
  await waitFor('the new releases to settle', async () => {
    const list = (await call('GET', `/apps/${APP}/releases`, { status: 200 })).body;
    return list.every((r: any) => r.status !== 'pending');
  }, 120_000, 250);
});

test('sources, builds from an uploaded tarball, slugs', async () => {
  await call('POST', '/apps', { body: { name: STATIC }, status: 201 });
  const plain = (await call('POST', '/sources', { status: 201 })).body;
  assert.ok(plain.source_blob.put_url);
  const { source_blob: blob } = (await call('POST', `/apps/${STATIC}/sources`, { status: 201 })).body;

  const dir = mkdtempSync(join(tmpdir(), 'slipway-schema-'));
  try {
    const tarball = join(dir, 'static-site.tgz');
    const tar = await exec('tar', ['-czf', tarball, '-C', join(EXAMPLES, 'static-site'), '.']);
    assert.equal(tar.code, 0, tar.stderr);
    const bytes = readFileSync(tarball);
    const put = await raw('PUT', blob.put_url, { body: bytes, headers: { 'Content-Type': '' } });
    assert.equal(put.status, 200, await put.clone().text());
    const back = await raw('GET', blob.get_url);
    assert.equal(back.status, 200);
    assert.equal(Buffer.from(await back.arrayBuffer()).length, bytes.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const build = (await call('POST', `/apps/${STATIC}/builds`, { body: { source_blob: { url: blob.get_url, version: 'static-v1' } }, status: 201 })).body;
  assert.equal(build.status, 'pending');
  const done = await waitFor('the build to finish', async () => {
    const b = (await call('GET', `/apps/${STATIC}/builds/${build.id}`, { status: 200 })).body;
    return b.status !== 'pending' ? b : undefined;
  }, 180_000, 250);
  assert.equal(done.status, 'succeeded');
  const output = await raw('GET', done.output_stream_url);
  assert.equal(output.status, 200);
  assert.match(await output.text(), /static/i);

  const builds = (await call('GET', `/apps/${STATIC}/builds`, { status: 200 })).body;
  assert.deepEqual(builds.map((b: any) => b.id), [build.id]);
  assert.ok(done.slug?.id, 'a finished build has a slug');
  const slug = (await call('GET', `/apps/${STATIC}/slugs/${done.slug.id}`, { status: 200 })).body;
  assert.equal(slug.id, done.slug.id);
  await callError('GET', `/apps/${STATIC}/slugs/00000000-0000-4000-8000-000000000000`, 404, 'not_found');
  await callError('GET', `/apps/${STATIC}/builds/00000000-0000-4000-8000-000000000000`, 404, 'not_found');
  await callError('POST', `/apps/${STATIC}/builds`, 422, 'invalid_params', { body: { source_blob: { url: 'ftp://nowhere' } } });
  await waitFor('the static release', async () => (await call('GET', `/apps/${STATIC}/builds/${build.id}`, { status: 200 })).body.release?.id);
});

test('formation: list, info, batch update, update one', async () => {
  const list = (await call('GET', `/apps/${APP}/formation`, { status: 200 })).body;
  assert.deepEqual(list.map((f: any) => f.type).sort(), ['web', 'worker']);
  assert.equal((await call('GET', `/apps/${APP}/formation/web`, { status: 200 })).body.type, 'web');
  const batch = (await call('PATCH', `/apps/${APP}/formation`, { body: { updates: [{ type: 'worker', quantity: 1 }] }, status: 200 })).body;
  assert.equal(batch.find((f: any) => f.type === 'worker').quantity, 1);
  assert.equal((await call('PATCH', `/apps/${APP}/formation/worker`, { body: { quantity: 0 }, status: 200 })).body.quantity, 0);
  await call('GET', `/apps/${APP}/formation/nope`, { status: 404 });
  await callError('PATCH', `/apps/${APP}/formation`, 422, 'invalid_params', { body: { type: 'web' } });
});

test('dynos: list, info, one-off, restart, stop', async () => {
  await waitFor('web.1 up', async () => (await call('GET', `/apps/${APP}/dynos/web.1`)).body?.state === 'up', 60_000, 250);
  const list = (await call('GET', `/apps/${APP}/dynos`, { status: 200 })).body;
  assert.ok(list.some((d: any) => d.name === 'web.1'));
  const web = (await call('GET', `/apps/${APP}/dynos/web.1`, { status: 200 })).body;
  assert.equal((await call('GET', `/apps/${APP}/dynos/${web.id}`, { status: 200 })).body.name, 'web.1');
  await callError('GET', `/apps/${APP}/dynos/nope.7`, 404, 'not_found');

  const run = (await call('POST', `/apps/${APP}/dynos`, { body: { command: 'node -e "console.log(1)"', attach: false, env: { A: '1' } }, status: 201 })).body;
  assert.equal(run.attach_url, null);
  assert.match(run.name, /^run\./);
  // The one-off may already have finished; either answer must have a valid shape.
  const oneOff = await call('GET', `/apps/${APP}/dynos/${run.name}`);
  assert.ok(oneOff.status === 200 || oneOff.status === 404, `one-off info: ${oneOff.status}`);
  await callError('POST', `/apps/${APP}/dynos`, 422, 'invalid_params', { body: { attach: false } });

  assert.deepEqual((await call('DELETE', `/apps/${APP}/dynos/web.1`, { status: 202 })).body, {});
  assert.deepEqual((await call('DELETE', `/apps/${APP}/formations/web`, { status: 202 })).body, {});
  assert.deepEqual((await call('DELETE', `/apps/${APP}/dynos`, { status: 202 })).body, {});
  assert.deepEqual((await call('POST', `/apps/${APP}/dynos/web.1/actions/stop`, { status: 202 })).body, {});
  assert.deepEqual((await call('POST', `/apps/${APP}/formations/web/actions/stop`, { status: 202 })).body, {});
  await waitFor('web.1 back up', async () => (await call('GET', `/apps/${APP}/dynos/web.1`)).body?.state === 'up', 60_000, 250);
});

test('log sessions', async () => {
  const session = (await call('POST', `/apps/${APP}/log-sessions`, { body: { lines: 20, tail: false }, status: 201 })).body;
  const stream = await raw('GET', session.logplex_url);
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.match(await stream.text(), /^data: /m);
  await call('POST', `/apps/${APP}/log-sessions`, { body: { dyno: 'web.1', source: 'app' }, status: 201 });
  await callError('POST', `/apps/${APP}/log-sessions`, 422, 'invalid_params', { body: { lines: 5000 } });
  await call('GET', `${pathOf(session.logplex_url)}x`, { status: 404 });
});

test('app features: list, info, update', async () => {
  const list = (await call('GET', `/apps/${APP}/features`, { status: 200 })).body;
  assert.ok(list.length > 0);
  const name = list[0].name;
  assert.equal((await call('GET', `/apps/${APP}/features/${name}`, { status: 200 })).body.name, name);
  assert.equal((await call('GET', `/apps/${APP}/features/${list[0].id}`, { status: 200 })).body.name, name);
  assert.equal((await call('PATCH', `/apps/${APP}/features/${name}`, { body: { enabled: false }, status: 200 })).body.enabled, false);
  assert.equal((await call('PATCH', `/apps/${APP}/features/${name}`, { body: { enabled: true }, status: 200 })).body.enabled, true);
  await callError('GET', `/apps/${APP}/features/no-such-feature`, 404, 'not_found');
  await callError('PATCH', `/apps/${APP}/features/${name}`, 422, 'invalid_params', { body: { enabled: 'yes' } });
});

test('Range: pages with 206 + Next-Range, lenient forms, empty header', async () => {
  const all = (await call('GET', `/apps/${APP}/releases`, { status: 200 })).body;
  assert.ok(all.length >= 4, `enough releases to page through (${all.length})`);
  const versionsDesc = all.map((r: any) => r.version).sort((a: number, b: number) => b - a);

  const first = await call('GET', `/apps/${APP}/releases`, { headers: { Range: 'version ..; max=2, order=desc' }, status: 206 });
  assert.deepEqual(first.body.map((r: any) => r.version), versionsDesc.slice(0, 2));
  let next = first.headers.get('next-range');
  assert.ok(next, '206 carries Next-Range');
  const seen = first.body.map((r: any) => r.version);
  for (let page = 0; next && page < 20; page++) {
    const res = await call('GET', `/apps/${APP}/releases`, { headers: { Range: next } });
    assert.ok(res.status === 206 || res.status === 200, `page status ${res.status}`);
    seen.push(...res.body.map((r: any) => r.version));
    next = res.headers.get('next-range');
    if (res.status === 200) assert.equal(next, null, 'a complete page has no Next-Range');
  }
  assert.deepEqual(seen, versionsDesc, 'following Next-Range gives the rest, in order, without repeats');

  for (const range of ['version ..; order=desc,max=1', 'version ..; max=1, order=desc']) {
    const res = await call('GET', `/apps/${APP}/releases`, { headers: { Range: range }, status: 206 });
    assert.deepEqual(res.body.map((r: any) => r.version), [versionsDesc[0]], range);
  }
  for (const range of ['id ..; max=1000;', '', 'version ..; order=desc', 'version ..']) {
    const res = await call('GET', `/apps/${APP}/releases`, { headers: { Range: range }, status: 200 });
    assert.equal(res.body.length, all.length, `Range: ${JSON.stringify(range)}`);
    assert.equal(res.headers.get('next-range'), null, `Range: ${JSON.stringify(range)} gives no Next-Range`);
  }

  // Other lists page the same way.
  const apps = await call('GET', '/apps', { headers: { Range: 'name ..; max=1' }, status: 206 });
  assert.equal(apps.body.length, 1);
  const rest = await call('GET', '/apps', { headers: { Range: apps.headers.get('next-range')! } });
  assert.ok(rest.body.length >= 1);
  assert.ok(!rest.body.some((a: any) => a.name === apps.body[0].name), 'the next page starts after the last one');
  await call('GET', `/apps/${APP}/formation`, { headers: { Range: 'type ..; max=1' }, status: 206 });
  await call('GET', `/apps/${APP}/dynos`, { headers: { Range: 'name ..; max=1000' }, status: 200 });
  await call('GET', `/apps/${STATIC}/builds`, { headers: { Range: 'created_at ..; order=desc, max=1' }, status: 200 });
});

test('every Accept variant of version 3 is accepted', async () => {
  const variants = ['', '.sdk', '.pipelines', '.filters', '.webhooks', '.docker-releases', '.review-apps', '.repositories-api', '.account-quotas', '.run-inside', '.team-invitations', '.dogwood', '.fir'];
  for (const variant of variants) {
    const accept = `application/vnd.heroku+json; version=3${variant}`;
    await call('GET', '/account', { headers: { Accept: accept }, status: 200 });
    await call('GET', `/apps/${APP}/releases`, { headers: { Accept: accept, Range: 'version ..; max=1, order=desc' }, status: 206 });
  }
  await call('GET', '/account', { headers: { Accept: 'application/json' }, status: 200 });
  await call('GET', '/account', { headers: { Accept: '*/*' }, status: 200 });
});

test('unsupported endpoints answer 404 not_found naming the method and path', async () => {
  for (const [method, path] of [
    ['GET', `/apps/${APP}/log-drains`],
    ['DELETE', '/account'],
    ['POST', '/no/such/thing'],
    ['PUT', `/apps/${APP}`],
  ] as const) {
    const res = await callError(method, path, 404, 'not_found', method === 'GET' || method === 'DELETE' ? {} : { body: {} });
    assert.ok(res.body.message.includes(`${method} ${path}`), `the message names ${method} ${path}: ${res.body.message}`);
  }
});

test('a wrong or missing API key gives 401 unauthorized', async () => {
  for (const path of ['/account', '/apps', `/apps/${APP}/releases`, `/apps/${APP}/dynos`]) {
    await callError('GET', path, 401, 'unauthorized', { headers: { Authorization: 'Bearer not-a-real-key' } });
    await callError('GET', path, 401, 'unauthorized', { headers: { Authorization: '' } });
  }
  const basic = Buffer.from(':wrong-key').toString('base64');
  await callError('GET', '/account', 401, 'unauthorized', { headers: { Authorization: `Basic ${basic}` } });
  await callError('POST', '/apps', 401, 'unauthorized', { body: { name: 'nope-app' }, headers: { Authorization: 'Bearer nope' } });
  // Without any Authorization header at all.
  const res = await fetch(`${s.url}/account`, { headers: { Accept: 'application/vnd.heroku+json; version=3' } });
  assert.equal(res.status, 401);
  assert.ok(res.headers.get('request-id'));
  const body = (await res.json()) as unknown;
  assert.deepEqual(validateResponse('GET', '/account', 401, body), []);
  assert.equal((body as { id: string }).id, 'unauthorized');
});

test('domains: list, add, info, remove; SNI endpoints and add-ons are empty lists', async () => {
  const initial = (await call('GET', `/apps/${APP}/domains`, { headers: { Range: 'id ..; max=1000;' }, status: 200 })).body;
  assert.deepEqual(initial.map((d: any) => [d.kind, d.hostname]), [['heroku', `${APP}.localhost`]]);
  const added = (await call('POST', `/apps/${APP}/domains`, { body: { hostname: 'WWW.Schema.Test', sni_endpoint: null }, status: 201 })).body;
  assert.deepEqual([added.kind, added.hostname, added.cname, added.status], ['custom', 'www.schema.test', `${APP}.localhost`, 'none']);
  assert.equal((await call('GET', `/apps/${APP}/domains/${added.id}`, { status: 200 })).body.hostname, 'www.schema.test');
  assert.equal((await call('GET', `/apps/${APP}/domains/${initial[0].id}`, { status: 200 })).body.kind, 'heroku');
  assert.equal((await call('GET', `/apps/${APP}/domains`, { status: 200 })).body.length, 2);
  await callError('POST', `/apps/${APP}/domains`, 422, 'invalid_params', { body: { hostname: 'www.schema.test', sni_endpoint: null } });
  await callError('POST', `/apps/${APP}/domains`, 422, 'invalid_params', { body: { hostname: 'http://x.test/', sni_endpoint: null } });
  await callError('POST', `/apps/${APP}/domains`, 422, 'invalid_params', { body: { sni_endpoint: null } });
  await callError('DELETE', `/apps/${APP}/domains/${APP}.localhost`, 422, 'invalid_params');
  assert.equal((await call('DELETE', `/apps/${APP}/domains/www.schema.test`, { status: 200 })).body.id, added.id);
  await callError('GET', `/apps/${APP}/domains/www.schema.test`, 404, 'not_found');
  assert.deepEqual((await call('GET', `/apps/${APP}/sni-endpoints`, { status: 200 })).body, []);
  assert.deepEqual((await call('GET', `/apps/${APP}/addons`, { status: 200 })).body, []);
});

test('collaborators: list, add, info, remove; only the owner manages them', async () => {
  const owner = (await call('GET', `/apps/${APP}/collaborators`, { status: 200 })).body;
  assert.deepEqual(owner.map((c: any) => [c.role, c.user.email]), [['owner', 'admin@slipway.local']]);
  const created = await s.api('POST', '/accounts', { email: 'collab@example.com' });
  assert.equal(created.status, 201, created.text);
  const collab = (await call('POST', `/apps/${APP}/collaborators`, { body: { user: 'collab@example.com' }, status: 201 })).body;
  assert.equal(collab.role, 'collaborator');
  assert.equal((await call('GET', `/apps/${APP}/collaborators/collab@example.com`, { status: 200 })).body.id, collab.id);
  assert.equal((await call('GET', `/apps/${APP}/collaborators/${collab.id}`, { status: 200 })).body.user.email, 'collab@example.com');
  await callError('POST', `/apps/${APP}/collaborators`, 422, 'invalid_params', { body: { user: 'collab@example.com' } });
  const missing = await callError('POST', `/apps/${APP}/collaborators`, 404, 'not_found', { body: { user: 'nobody@example.com' } });
  assert.match(missing.body.message, /slipway accounts:create/);
  const asCollab = { Authorization: `Bearer ${created.body.api_key}` };
  assert.equal((await call('GET', `/apps/${APP}`, { headers: asCollab, status: 200 })).body.name, APP);
  await callError('POST', `/apps/${APP}/collaborators`, 403, 'forbidden', { body: { user: 'second@example.com' }, headers: asCollab });
  await callError('DELETE', `/apps/${APP}`, 403, 'forbidden', { headers: asCollab });
  await callError('DELETE', `/apps/${APP}/collaborators/admin@slipway.local`, 422, 'invalid_params');
  assert.equal((await call('DELETE', `/apps/${APP}/collaborators/collab@example.com`, { status: 200 })).body.id, collab.id);
  await callError('GET', `/apps/${APP}/collaborators/collab@example.com`, 404, 'not_found');
  await callError('GET', `/apps/${APP}`, 403, 'forbidden', { headers: asCollab });
});

test('plain endpoints: health and CA certificate', async () => {
  const health = await raw('GET', '/healthz');
  assert.equal(health.status, 200);
  const ca = await raw('GET', '/ca.pem');
  assert.equal(ca.status, 200);
  assert.match(await ca.text(), /BEGIN CERTIFICATE/);
});

test('app webhooks: create, list, info, update, deliveries, events, delete', async () => {
  const { createServer } = await import('node:http');
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as import('node:net').AddressInfo).port}/hook`;
  try {
    const accept = { Accept: 'application/vnd.heroku+json; version=3.webhooks' };
    const created = await call('POST', `/apps/${APP}/webhooks`, { body: { include: ['api:release'], level: 'notify', url }, headers: accept, status: 201 });
    assert.ok(created.headers.get('heroku-webhook-secret'), 'the create answers with Heroku-Webhook-Secret');
    const id = created.body.id;
    assert.ok((await call('GET', `/apps/${APP}/webhooks`, { headers: accept, status: 200 })).body.some((w: any) => w.id === id));
    assert.equal((await call('GET', `/apps/${APP}/webhooks/${id}`, { headers: accept, status: 200 })).body.url, url);
    assert.equal((await call('PATCH', `/apps/${APP}/webhooks/${id}`, { body: { level: 'sync' }, headers: accept, status: 200 })).body.level, 'sync');
    await callError('POST', `/apps/${APP}/webhooks`, 422, 'invalid_params', { body: { include: ['api:nothing'], level: 'notify', url } });
    await callError('GET', `/apps/${APP}/webhooks/00000000-0000-4000-8000-000000000000`, 404, 'not_found');

    await call('PATCH', `/apps/${APP}/config-vars`, { body: { WEBHOOK_SCHEMA: String(Date.now()) }, status: 200 });
    const delivery = await waitFor('a delivery', async () => {
      const list = (await call('GET', `/apps/${APP}/webhook-deliveries`, { headers: { ...accept, Range: 'seq ..; order=desc,max=1000' }, status: 200 })).body as any[];
      return list.find((d) => d.webhook.id === id && d.status === 'succeeded');
    }, 60_000, 250);
    assert.equal((await call('GET', `/apps/${APP}/webhook-deliveries/${delivery.id}`, { headers: accept, status: 200 })).body.num_attempts, 1);
    await call('GET', `/apps/${APP}/webhook-deliveries?eq[status]=succeeded`, { headers: accept, status: 200 });
    await callError('GET', `/apps/${APP}/webhook-deliveries?eq[status]=bogus`, 422, 'invalid_params');
    assert.ok((await call('GET', `/apps/${APP}/webhook-events`, { headers: accept, status: 200 })).body.some((e: any) => e.id === delivery.event.id));
    assert.equal((await call('GET', `/apps/${APP}/webhook-events/${delivery.event.id}`, { headers: accept, status: 200 })).body.include, 'api:release');
    await callError('GET', `/apps/${APP}/webhook-events/nope`, 404, 'not_found');
    assert.equal((await call('DELETE', `/apps/${APP}/webhooks/${id}`, { headers: accept, status: 200 })).body.id, id);
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
});

test('pipelines: pipelines, couplings, filters, promotions', async () => {
  const PROD = 'schema-prod';
  await call('POST', '/apps', { body: { name: PROD }, status: 201 });
  const accept = { Accept: 'application/vnd.heroku+json; version=3.pipelines' };
  const me = (await call('GET', '/users/~', { status: 200 })).body;
  const pipeline = (await call('POST', '/pipelines', { body: { name: 'schema-pipe', owner: { id: me.id, type: 'user' }, generation: { name: 'cedar' } }, headers: accept, status: 201 })).body;
  assert.equal((await call('GET', '/pipelines?eq[name]=schema-pipe', { headers: accept, status: 200 })).body[0].id, pipeline.id);
  assert.ok((await call('GET', '/pipelines', { status: 200 })).body.some((p: any) => p.id === pipeline.id));
  assert.equal((await call('GET', `/pipelines/${pipeline.id}`, { headers: accept, status: 200 })).body.name, 'schema-pipe');
  assert.equal((await call('GET', '/pipelines/schema-pipe', { status: 200 })).body.id, pipeline.id);
  assert.equal((await call('PATCH', `/pipelines/${pipeline.id}`, { body: { name: 'schema-pipeline' }, status: 200 })).body.name, 'schema-pipeline');
  await callError('POST', '/pipelines', 422, 'invalid_params', { body: { name: 'No Good' } });
  await callError('GET', '/pipelines/no-such-pipeline', 404, 'not_found');

  const staging = (await call('POST', '/pipeline-couplings', { body: { app: APP, pipeline: pipeline.id, stage: 'development' }, status: 201 })).body;
  assert.equal((await call('PATCH', `/pipeline-couplings/${staging.id}`, { body: { stage: 'staging' }, status: 200 })).body.stage, 'staging');
  const prod = (await call('POST', '/pipeline-couplings', { body: { app: PROD, pipeline: pipeline.id, stage: 'production' }, status: 201 })).body;
  await callError('POST', '/pipeline-couplings', 409, 'conflict', { body: { app: PROD, pipeline: pipeline.id, stage: 'staging' } });
  await callError('POST', '/pipeline-couplings', 422, 'invalid_params', { body: { app: STATIC, pipeline: pipeline.id, stage: 'qa' } });
  assert.equal((await call('GET', `/pipeline-couplings/${prod.id}`, { status: 200 })).body.stage, 'production');
  assert.equal((await call('GET', `/apps/${APP}/pipeline-couplings`, { headers: { Accept: 'application/vnd.heroku+json; version=3.sdk' }, status: 200 })).body.id, staging.id);
  await callError('GET', `/apps/${STATIC}/pipeline-couplings`, 404, 'not_found');
  assert.equal((await call('GET', '/pipeline-couplings', { status: 200 })).body.length, 2);
  const couplings = (await call('GET', `/pipelines/${pipeline.id}/pipeline-couplings`, { status: 200 })).body;
  const ids = couplings.map((c: any) => c.app.id);
  const apps = (await call('POST', '/filters/apps', { body: { in: { id: ids } }, headers: { Accept: 'application/vnd.heroku+json; version=3.filters', Range: 'id ..; max=1000;' }, status: 200 })).body;
  assert.deepEqual(apps.map((a: any) => a.name).sort(), [APP, PROD].sort());
  await callError('POST', '/filters/apps', 422, 'invalid_params', { body: {} });

  const promotion = (await call('POST', '/pipeline-promotions', {
    body: { pipeline: { id: pipeline.id }, source: { app: { id: staging.app.id } }, targets: [{ app: { id: prod.app.id } }] },
    status: 201,
  })).body;
  assert.equal((await call('GET', `/pipeline-promotions/${promotion.id}`, { status: 200 })).body.id, promotion.id);
  const targets = await waitFor('the promotion target to finish', async () => {
    const list = (await call('GET', `/pipeline-promotions/${promotion.id}/promotion-targets`, { status: 200 })).body as any[];
    return list.every((t) => t.status !== 'pending') ? list : undefined;
  }, 120_000, 250);
  assert.equal(targets[0].status, 'succeeded', targets[0].error_message);
  await callError('POST', '/pipeline-promotions', 422, 'invalid_params', { body: { pipeline: { id: pipeline.id }, source: { app: { id: prod.app.id } } } });
  await callError('GET', '/pipeline-promotions/00000000-0000-4000-8000-000000000000', 404, 'not_found');

  // Slipway extensions (not in the Heroku schema, like /projects): approval policies, promotion
  // records, approve/reject, pipelines:info's overview and pipelines:diff. Shapes checked here.
  const ext = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await s.api(method, path, body);
    record(method, path);
    assert.ok(res.headers.get('request-id'), `${method} ${path} answered without a Request-Id header`);
    assert.equal(res.status, 200, `${method} ${path} → ${res.status}: ${res.text}`);
    return res.body;
  };
  const promote = { pipeline: { id: pipeline.id }, source: { app: { id: staging.app.id } }, targets: [{ app: { id: prod.app.id } }] };
  const policies = await ext('GET', `/pipelines/${pipeline.id}/approval-policies`);
  assert.deepEqual(policies.map((p: any) => [p.stage, p.approval_required]), [['development', false], ['staging', false], ['production', false]]);
  assert.equal((await ext('PATCH', `/pipelines/${pipeline.id}/approval-policies/production`, { approver: 'different_user' })).approval_required, true);
  await callError('PATCH', `/pipelines/${pipeline.id}/approval-policies/review`, 422, 'invalid_params', { body: { approval_required: true } });
  await callError('PATCH', `/pipelines/${pipeline.id}/approval-policies/production`, 422, 'invalid_params', { body: { approver: 'anyone' } });
  const held = (await call('POST', '/pipeline-promotions', { body: promote, status: 201 })).body;
  assert.equal(held.status, 'pending');
  assert.equal((await call('GET', `/pipeline-promotions/${held.id}/promotion-targets`, { status: 200 })).body[0].status, 'pending');
  const heldRecord = await ext('GET', `/pipeline-promotions/${held.id}/record`);
  assert.deepEqual([heldRecord.approval.status, heldRecord.targets[0].status], ['awaiting', 'awaiting_approval']);
  await callError('POST', `/pipeline-promotions/${held.id}/actions/approve`, 403, 'forbidden');
  await callError('POST', `/pipeline-promotions/${promotion.id}/actions/approve`, 422, 'invalid_params');
  assert.equal((await ext('POST', `/pipeline-promotions/${held.id}/actions/reject`)).approval.status, 'rejected');
  await callError('POST', `/pipeline-promotions/${held.id}/actions/reject`, 409, 'conflict');
  await ext('PATCH', `/pipelines/${pipeline.id}/approval-policies/production`, { approver: 'any_user' });
  const waiting = (await call('POST', '/pipeline-promotions', { body: promote, status: 201 })).body;
  assert.equal((await ext('POST', `/pipeline-promotions/${waiting.id}/actions/approve`)).approval.status, 'approved');
  await waitFor('the approved promotion to finish', async () => (await s.api('GET', `/pipeline-promotions/${waiting.id}`)).body.status === 'completed', 120_000, 250);
  assert.equal((await ext('PATCH', `/pipelines/${pipeline.id}/approval-policies/production`, { approval_required: false })).approval_required, false);
  const history = await ext('GET', `/pipelines/${pipeline.id}/promotions`);
  assert.deepEqual(history.map((p: any) => p.id), [promotion.id, held.id, waiting.id]);
  const overview = await ext('GET', `/pipelines/${pipeline.id}/overview`);
  const prodState = overview.stages.find((st: any) => st.name === 'production').apps[0];
  assert.equal(prodState.current_release.id, (await ext('GET', `/pipeline-promotions/${waiting.id}/record`)).targets[0].release.id);
  const diff = await ext('GET', `/apps/${APP}/pipeline-diff`);
  assert.deepEqual(diff.comparisons.map((c: any) => [c.app.name, c.state]), [[PROD, 'up_to_date']]);
  await callError('GET', `/apps/${PROD}/pipeline-diff`, 422, 'invalid_params');

  assert.equal((await call('DELETE', `/pipeline-couplings/${prod.id}`, { status: 200 })).body.id, prod.id);
  assert.equal((await call('DELETE', `/pipelines/${pipeline.id}`, { status: 200 })).body.id, pipeline.id);
  await callError('GET', `/pipeline-couplings/${staging.id}`, 404, 'not_found');
});

test('app setups: create from a tarball with app.json, info, failures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-schema-setup-'));
  let url: string;
  try {
    const { cpSync, writeFileSync } = await import('node:fs');
    cpSync(join(EXAMPLES, 'static-site'), join(dir, 'app'), { recursive: true });
    writeFileSync(join(dir, 'app', 'app.json'), JSON.stringify({ env: { TOKEN: { generator: 'secret' } }, scripts: { postdeploy: 'echo seeded' }, success_url: '/' }));
    const tarball = join(dir, 'app.tgz');
    const tar = await exec('tar', ['-czf', tarball, '-C', join(dir, 'app'), '.']);
    assert.equal(tar.code, 0, tar.stderr);
    const { source_blob: blob } = (await call('POST', '/sources', { status: 201 })).body;
    const put = await raw('PUT', blob.put_url, { body: readFileSync(tarball), headers: { 'Content-Type': '' } });
    assert.equal(put.status, 200);
    url = blob.get_url;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const created = (await call('POST', '/app-setups', { body: { app: { name: 'schema-setup' }, source_blob: { url, version: 'v1' } }, status: 201 })).body;
  assert.equal(created.status, 'pending');
  const done = await waitFor('the app setup to finish', async () => {
    const setup = (await call('GET', `/app-setups/${created.id}`, { status: 200 })).body;
    return setup.status !== 'pending' ? setup : undefined;
  }, 180_000, 250);
  assert.equal(done.status, 'succeeded', done.failure_message);
  assert.equal(done.postdeploy.exit_code, 0);
  assert.equal(done.build.status, 'succeeded');

  const manifestOnly = (await call('POST', '/app-setups', { body: { app: { name: 'schema-manifest' }, manifest: { env: { A: 'b' } } }, status: 201 })).body;
  assert.equal(manifestOnly.status, 'succeeded');
  assert.equal(manifestOnly.build, null);
  const invalid = await callError('POST', '/app-setups', 422, 'invalid_params', { body: { app: { name: 'schema-bad' }, manifest: '{"env": {"A": 1}}' } });
  assert.match(invalid.body.message, /^app\.json: env\.A must be a string/);
  await callError('POST', '/app-setups', 422, 'invalid_params', { body: { app: { name: 'schema-bad' } } });
  await callError('GET', '/app-setups/00000000-0000-4000-8000-000000000000', 404, 'not_found');
});

test('CI projects, pipelines, jobs and job logs (Slipway extension)', async () => {
  // Not in the Heroku schema (like POST /accounts): shapes checked here, errors by callError.
  const created = await s.api('POST', '/projects', { name: 'schema-ci' });
  record('POST', '/projects');
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.name, 'schema-ci');
  assert.match(created.body.git_url, /\/schema-ci\.git$/);
  await callError('POST', '/projects', 422, 'invalid_params', { body: { name: APP } });
  await callError('POST', '/projects', 422, 'invalid_params', { body: { name: 'Not A Name' } });
  const list = await s.api('GET', '/projects');
  record('GET', '/projects');
  assert.ok(list.body.some((p: { name: string }) => p.name === 'schema-ci'));
  const one = await s.api('GET', '/projects/schema-ci');
  record('GET', '/projects/schema-ci');
  assert.equal(one.body.id, created.body.id);
  await callError('GET', '/projects/schema-nothing', 404, 'not_found');

  const repo = mkdtempSync(join(tmpdir(), 'slipway-schema-ci-'));
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, '.gitlab-ci.yml'), 'hello:\n  script: echo hello from ci\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'ci');
  const push = await git(repo, 'push', gitUrl(s, 'schema-ci'), 'main');
  assert.match(push.stderr, /Pipeline #1: /);
  const pipeline = await waitFor('the pipeline to finish', async () => {
    const res = await s.api('GET', '/projects/schema-ci/pipelines/1');
    return res.body?.status === 'success' ? res.body : undefined;
  }, 60_000, 200);
  record('GET', '/projects/schema-ci/pipelines/1');
  assert.deepEqual(pipeline.jobs.map((j: { name: string; status: string }) => [j.name, j.status]), [['hello', 'success']]);
  const pipelines = await s.api('GET', '/projects/schema-ci/pipelines');
  record('GET', '/projects/schema-ci/pipelines');
  assert.equal(pipelines.body[0].id, 1);
  const job = await s.api('GET', `/projects/schema-ci/jobs/${pipeline.jobs[0].id}`);
  record('GET', `/projects/schema-ci/jobs/${pipeline.jobs[0].id}`);
  assert.equal(job.body.status, 'success');
  const log = await raw('GET', `/projects/schema-ci/jobs/${pipeline.jobs[0].id}/log`, { headers: { Authorization: `Bearer ${s.apiKey}` } });
  assert.match(log.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(await log.text(), /hello from ci/);
  await callError('GET', '/projects/schema-ci/pipelines/99', 404, 'not_found');
  await callError('GET', '/projects/schema-ci/jobs/x', 404, 'not_found');

  // Job control (GitLab's REST names) and artifacts.
  const jobId = pipeline.jobs[0].id;
  await callError('POST', `/projects/schema-ci/jobs/${jobId}/play`, 409, 'conflict');
  await callError('POST', `/projects/schema-ci/jobs/${jobId}/cancel`, 409, 'conflict');
  await callError('GET', `/projects/schema-ci/jobs/${jobId}/artifacts`, 404, 'not_found');
  await callError('POST', '/projects/schema-ci/pipelines/1/retry', 409, 'conflict');
  const canceled = await s.api('POST', '/projects/schema-ci/pipelines/1/cancel');
  record('POST', '/projects/schema-ci/pipelines/1/cancel');
  assert.equal(canceled.status, 200, canceled.text);
  assert.equal(canceled.body.status, 'success');
  const retried = await s.api('POST', `/projects/schema-ci/jobs/${jobId}/retry`);
  record('POST', `/projects/schema-ci/jobs/${jobId}/retry`);
  assert.equal(retried.status, 201, retried.text);
  assert.notEqual(retried.body.id, jobId);
  assert.equal(retried.body.name, 'hello');
  await waitFor('the retried job to finish', async () => (await s.api('GET', `/projects/schema-ci/jobs/${retried.body.id}`)).body?.status === 'success', 60_000, 200);

  // Running a pipeline by hand (GitLab's POST /projects/:id/pipeline).
  const run = await s.api('POST', '/projects/schema-ci/pipelines', { ref: 'main', variables: [{ key: 'K', value: 'v' }] });
  record('POST', '/projects/schema-ci/pipelines');
  assert.equal(run.status, 201, run.text);
  assert.equal(run.body.source, 'api');
  assert.equal(run.body.ref, 'main');
  assert.deepEqual(run.body.jobs.map((j: { name: string }) => j.name), ['hello']);
  assert.ok(Array.isArray(run.body.messages));
  await callError('POST', '/projects/schema-ci/pipelines', 400, 'ref_not_found', { body: { ref: 'nowhere' } });
  await callError('POST', '/projects/schema-ci/pipelines', 422, 'invalid_params', { body: { ref: 'main', source: 'schedule' } });
  await waitFor('the run to finish', async () => (await s.api('GET', `/projects/schema-ci/pipelines/${run.body.id}`)).body?.status === 'success', 60_000, 200);

  // Pipeline schedules (GitLab's names).
  const schedule = await s.api('POST', '/projects/schema-ci/pipeline_schedules', { cron: '0 4 * * 1', description: 'weekly', variables: [{ key: 'K', value: 'v' }] });
  record('POST', '/projects/schema-ci/pipeline_schedules');
  assert.equal(schedule.status, 201, schedule.text);
  assert.equal(schedule.body.id, 1);
  assert.equal(schedule.body.cron_timezone, 'UTC');
  assert.equal(new Date(schedule.body.next_run_at).getUTCDay(), 1);
  const schedules = await s.api('GET', '/projects/schema-ci/pipeline_schedules');
  record('GET', '/projects/schema-ci/pipeline_schedules');
  assert.deepEqual(schedules.body.map((x: { id: number }) => x.id), [1]);
  const updated = await s.api('PUT', '/projects/schema-ci/pipeline_schedules/1', { active: false });
  record('PUT', '/projects/schema-ci/pipeline_schedules/1');
  assert.equal(updated.body.active, false);
  assert.equal(updated.body.next_run_at, null);
  const played = await s.api('POST', '/projects/schema-ci/pipeline_schedules/1/play');
  record('POST', '/projects/schema-ci/pipeline_schedules/1/play');
  assert.equal(played.status, 201, played.text);
  assert.equal(played.body.pipeline.source, 'schedule');
  await waitFor('the scheduled run to finish', async () => (await s.api('GET', `/projects/schema-ci/pipelines/${played.body.pipeline.id}`)).body?.status === 'success', 60_000, 200);
  const shown = await s.api('GET', '/projects/schema-ci/pipeline_schedules/1');
  record('GET', '/projects/schema-ci/pipeline_schedules/1');
  assert.equal(shown.body.last_pipeline.id, played.body.pipeline.id);
  await callError('POST', '/projects/schema-ci/pipeline_schedules', 422, 'invalid_params', { body: { cron: 'every day' } });
  await callError('GET', '/projects/schema-ci/pipeline_schedules/9', 404, 'not_found');
  const removed = await s.api('DELETE', '/projects/schema-ci/pipeline_schedules/1');
  record('DELETE', '/projects/schema-ci/pipeline_schedules/1');
  assert.equal(removed.status, 200, removed.text);

  // Trigger tokens (GitLab's names); the trigger itself takes the token, not an API key.
  const trigger = await s.api('POST', '/projects/schema-ci/triggers', { description: 'schema' });
  record('POST', '/projects/schema-ci/triggers');
  assert.equal(trigger.status, 201, trigger.text);
  assert.match(trigger.body.token, /^glptt-/);
  const triggers = await s.api('GET', '/projects/schema-ci/triggers');
  record('GET', '/projects/schema-ci/triggers');
  assert.equal(triggers.body[0].token, null);
  const fired = await raw('POST', '/projects/schema-ci/trigger/pipeline', { body: new URLSearchParams({ token: trigger.body.token, ref: 'main' }) });
  assert.equal(fired.status, 201);
  const firedBody = (await fired.json()) as { id: number; source: string };
  assert.equal(firedBody.source, 'trigger');
  const firedV4 = await raw('POST', `/api/v4/projects/schema-ci/trigger/pipeline?token=${trigger.body.token}&ref=main`);
  assert.equal(firedV4.status, 201);
  const refused = await raw('POST', '/projects/schema-ci/trigger/pipeline', { body: new URLSearchParams({ token: 'glptt-nope', ref: 'main' }) });
  assert.equal(refused.status, 401);
  assert.equal(((await refused.json()) as { id: string }).id, 'unauthorized');
  for (const n of [firedBody.id, firedBody.id + 1]) {
    await waitFor(`triggered pipeline #${n}`, async () => (await s.api('GET', `/projects/schema-ci/pipelines/${n}`)).body?.status === 'success', 60_000, 200);
  }
  const dropped = await s.api('DELETE', `/projects/schema-ci/triggers/${trigger.body.id}`);
  record('DELETE', `/projects/schema-ci/triggers/${trigger.body.id}`);
  assert.equal(dropped.status, 200, dropped.text);
});

test('merge requests on CI projects (Slipway extension, GitLab names)', async () => {
  // Not in the Heroku schema: shapes checked here, errors by callError.
  const created = await s.api('POST', '/projects', { name: 'schema-mr' });
  assert.equal(created.status, 201, created.text);
  const repo = mkdtempSync(join(tmpdir(), 'slipway-schema-mr-'));
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, '.gitlab-ci.yml'), 'mr:\n  script: echo mr\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'ci');
  await git(repo, 'checkout', '-q', '-b', 'feat');
  writeFileSync(join(repo, 'feat.txt'), 'feat\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'feat');
  assert.equal((await git(repo, 'push', gitUrl(s, 'schema-mr'), 'main', 'feat')).code, 0);
  const base = '/projects/schema-mr/merge_requests';
  const mr = async (method: string, path: string, status: number, body?: unknown) => {
    const res = await s.api(method, path, body);
    record(method, path);
    assert.ok(res.headers.get('request-id'));
    assert.equal(res.status, status, `${method} ${path} → ${res.status}: ${res.text}`);
    return res.body;
  };
  const opened = await mr('POST', base, 201, { source_branch: 'feat', target_branch: 'main', title: 'Feat' });
  assert.deepEqual([opened.iid, opened.state, opened.head_pipeline?.source], [1, 'opened', 'merge_request_event']);
  for (const key of ['id', 'iid', 'project_id', 'title', 'description', 'state', 'source_branch', 'target_branch', 'sha', 'merge_commit_sha', 'author', 'merged_by', 'web_url', 'head_pipeline', 'review_app', 'messages']) {
    assert.ok(key in opened, `merge request JSON has ${key}`);
  }
  assert.equal((await mr('GET', base, 200)).length, 1);
  assert.equal((await mr('GET', `${base}/1`, 200)).title, 'Feat');
  assert.equal((await mr('PUT', `${base}/1`, 200, { description: 'more' })).description, 'more');
  assert.equal((await mr('GET', `${base}/1/pipelines`, 200))[0].source, 'merge_request_event');
  assert.equal((await mr('POST', `${base}/1/close`, 200)).state, 'closed');
  assert.equal((await mr('POST', `${base}/1/reopen`, 200)).state, 'opened');
  await callError('PUT', `${base}/1/merge`, 409, 'conflict', { body: { sha: '0'.repeat(40) } });
  await callError('POST', `${base}/1/merge`, 422, 'invalid_params', { body: { should_remove_source_branch: 'maybe' } });
  const merged = await mr('PUT', `${base}/1/merge`, 200, {});
  assert.equal(merged.state, 'merged');
  await callError('POST', `${base}/1/merge`, 409, 'conflict');
  await callError('POST', base, 422, 'invalid_params', { body: { source_branch: 'nope' } });
  await callError('GET', `${base}/9`, 404, 'not_found');
});

test('CI project settings: variables, protected refs, environments, deployments (Slipway extension)', async () => {
  // Not in the Heroku schema: GitLab's shapes checked here, errors by callError.
  assert.equal((await s.api('POST', '/projects', { name: 'schema-cis' })).status, 201);
  const base = '/projects/schema-cis';
  const req = async (method: string, path: string, status: number, body?: unknown) => {
    const res = await s.api(method, path, body);
    record(method, path);
    assert.ok(res.headers.get('request-id'));
    assert.equal(res.status, status, `${method} ${path} → ${res.status}: ${res.text}`);
    return res.body;
  };
  const created = await req('POST', `${base}/variables`, 201, { key: 'TOKEN', value: 'masked-value-123', masked: true, protected: true, environment_scope: 'production' });
  assert.deepEqual(created, { key: 'TOKEN', value: null, variable_type: 'env_var', protected: true, masked: true, raw: false, environment_scope: 'production', description: null });
  await req('POST', `${base}/variables`, 201, { key: 'PLAIN', value: 'hello' });
  await callError('POST', `${base}/variables`, 409, 'conflict', { body: { key: 'PLAIN', value: 'again' } });
  await callError('POST', `${base}/variables`, 422, 'invalid_params', { body: { key: 'SHORT', value: 'abc', masked: true } });
  assert.equal((await req('GET', `${base}/variables`, 200)).length, 2);
  assert.equal((await req('GET', `${base}/variables/PLAIN`, 200)).value, 'hello');
  assert.equal((await req('PUT', `${base}/variables/PLAIN`, 200, { value: 'changed', description: 'a note' })).description, 'a note');
  await callError('GET', `${base}/variables/NOPE`, 404, 'not_found');
  const deleted = await s.api('DELETE', `${base}/variables/PLAIN`);
  record('DELETE', `${base}/variables/PLAIN`);
  assert.equal(deleted.status, 204);

  assert.deepEqual((await req('GET', `${base}/protected-branches`, 200)).map((b: { name: string }) => b.name), ['main']);
  assert.deepEqual(
    Object.keys(await req('POST', `${base}/protected-branches`, 201, { name: 'release/*' })),
    ['id', 'name', 'allow_force_push', 'created_at'],
  );
  assert.equal((await req('PATCH', `${base}/protected-branches/${encodeURIComponent('release/*')}`, 200, { allow_force_push: true })).allow_force_push, true);
  await callError('PATCH', `${base}/protected-branches/main`, 422, 'invalid_params', { body: { allow_force_push: 'yes' } });
  await callError('POST', `${base}/protected-branches`, 409, 'conflict', { body: { name: 'release/*' } });
  await callError('POST', `${base}/protected-branches`, 422, 'invalid_params', { body: { name: 'bad..name' } });
  assert.equal((await s.api('DELETE', `${base}/protected-branches/${encodeURIComponent('release/*')}`)).status, 204);
  record('DELETE', `${base}/protected-branches/x`);
  assert.equal((await req('POST', `${base}/protected-tags`, 201, { name: 'v*' })).name, 'v*');
  assert.equal((await req('GET', `${base}/protected-tags`, 200)).length, 1);
  assert.equal((await s.api('DELETE', `${base}/protected-tags/${encodeURIComponent('v*')}`)).status, 204);
  record('DELETE', `${base}/protected-tags/x`);
  await callError('DELETE', `${base}/protected-tags/v2`, 404, 'not_found');

  const repo = mkdtempSync(join(tmpdir(), 'slipway-schema-cis-'));
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, '.gitlab-ci.yml'), 'ship:\n  environment: { name: production, url: "https://example.com" }\n  script: echo shipping\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'ci');
  assert.equal((await git(repo, 'push', gitUrl(s, 'schema-cis'), 'main')).code, 0);
  const deployment = await waitFor('the deployment to succeed', async () => {
    const list = (await s.api('GET', `${base}/deployments`)).body;
    return list?.[0]?.status === 'success' ? list[0] : undefined;
  }, 60_000, 200);
  record('GET', `${base}/deployments`);
  assert.deepEqual([deployment.action, deployment.deployment_tier, deployment.environment.name, deployment.deployable.name], ['start', 'production', 'production', 'ship']);
  assert.equal((await req('GET', `${base}/deployments/${deployment.id}`, 200)).uuid, deployment.uuid);
  await callError('GET', `${base}/deployments/99`, 404, 'not_found');
  const [env] = await req('GET', `${base}/environments`, 200);
  assert.deepEqual([env.name, env.slug, env.state, env.tier, env.external_url, env.last_deployment.id], ['production', 'production', 'available', 'production', 'https://example.com', deployment.id]);
});

test('review apps (Heroku review-app, review-app-config) and pipeline automation (Slipway extension)', async () => {
  const me = (await s.api('GET', '/account')).body;
  assert.equal((await s.api('POST', '/projects', { name: 'schema-flow' })).status, 201);
  const repo = mkdtempSync(join(tmpdir(), 'slipway-schema-flow-'));
  await git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'Procfile'), 'web: node server.js\n');
  writeFileSync(join(repo, 'server.js'), "require('http').createServer((q, r) => r.end('review ' + process.env.KIND)).listen(process.env.PORT);\n");
  writeFileSync(join(repo, 'app.json'), JSON.stringify({ environments: { review: { env: { KIND: 'review' } } } }));
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'app');
  await git(repo, 'checkout', '-q', '-b', 'feat');
  writeFileSync(join(repo, 'feat.txt'), 'feat\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'feat');
  assert.equal((await git(repo, 'push', gitUrl(s, 'schema-flow'), 'main', 'feat')).code, 0);
  const pipeline = (await call('POST', '/pipelines', { body: { name: 'schema-flow', owner: { id: me.id, type: 'user' } }, status: 201 })).body;
  const base = `/pipelines/${pipeline.id}`;
  // Slipway's own resources: not in the Heroku schema, shapes checked here.
  const slip = async (method: string, path: string, status: number, body?: unknown) => {
    const res = await s.api(method, path, body);
    record(method, path);
    assert.ok(res.headers.get('request-id'));
    assert.equal(res.status, status, `${method} ${path} → ${res.status}: ${res.text}`);
    return res.body;
  };
  await callError('POST', `${base}/review-app-config`, 422, 'invalid_params', { body: {} });
  assert.equal((await slip('GET', `${base}/connection`, 200)).project, null);
  assert.equal((await slip('PATCH', `${base}/connection`, 200, { project: 'schema-flow' })).project.name, 'schema-flow');
  await callError('PATCH', `${base}/connection`, 422, 'invalid_params', { body: {} });
  assert.equal((await slip('PUT', `${base}/auto-deploy-rules/staging`, 200, { branch: 'main', wait_for_ci: false })).wait_for_ci, false);
  assert.equal((await slip('GET', `${base}/auto-deploy-rules`, 200)).length, 1);
  await callError('PUT', `${base}/auto-deploy-rules/review`, 422, 'invalid_params', { body: { branch: 'main' } });
  assert.equal((await slip('DELETE', `${base}/auto-deploy-rules/staging`, 200)).stage, 'staging');
  await callError('DELETE', `${base}/auto-deploy-rules/staging`, 404, 'not_found');
  assert.deepEqual(await slip('GET', `${base}/auto-deploys`, 200), []);
  assert.deepEqual(await slip('GET', `${base}/test-runs`, 200), []);

  const accept = { Accept: 'application/vnd.heroku+json; version=3.review-apps' };
  const config = (await call('POST', `${base}/review-app-config`, { body: { repo: 'me/schema-flow', automatic_review_apps: false }, headers: accept, status: 201 })).body;
  assert.equal(config.automatic_review_apps, false);
  assert.equal((await call('GET', `${base}/review-app-config`, { headers: accept, status: 200 })).body.pipeline_id, pipeline.id);
  assert.equal((await call('PATCH', `${base}/review-app-config`, { body: { destroy_stale_apps: true, stale_days: 3 }, headers: accept, status: 200 })).body.stale_days, 3);
  await callError('PATCH', `${base}/review-app-config`, 422, 'invalid_params', { body: { stale_days: 0 } });
  const body = { branch: 'feat', pipeline: pipeline.id, source_blob: { url: 'resolve', version: null } };
  const created = (await call('POST', '/review-apps', { body, headers: accept, status: 201 })).body;
  assert.equal(created.status, 'pending');
  const ready = await waitFor('the review app to be created', async () => {
    const res = (await call('GET', `/review-apps/${created.id}`, { headers: accept, status: 200 })).body;
    if (res.status === 'errored') throw new Error(res.message);
    return res.status === 'created' ? res : undefined;
  }, 120_000, 250);
  assert.equal((await call('GET', `${base}/review-apps`, { headers: accept, status: 200 })).body[0].id, created.id);
  assert.equal((await call('GET', `/apps/${ready.app.id}/review-app`, { headers: accept, status: 200 })).body.id, created.id);
  await callError('POST', '/review-apps', 409, 'conflict', { body });
  assert.equal((await call('DELETE', `/review-apps/${created.id}`, { headers: accept, status: 200 })).body.status, 'deleting');
  await waitFor('the review app to be deleted', async () => (await s.api('GET', `/review-apps/${created.id}`)).body?.status === 'deleted', 60_000, 200);
  await callError('GET', '/review-apps/00000000-0000-4000-8000-000000000000', 404, 'not_found');
  await call('DELETE', `${base}/review-app-config`, { headers: accept, status: 200 });
  await callError('GET', `${base}/review-app-config`, 404, 'not_found');
  assert.equal((await slip('DELETE', `${base}/connection`, 200)).project, null);
});

test('every route the server registers was exercised by this file', () => {
  const missing = implementedRoutes()
    .map((r) => `${r.method} ${r.pattern}`)
    .filter((key) => !exercised.has(key));
  assert.deepEqual(missing, [], `routes in src/api with no schema check in test/e2e/api-schema.test.ts:\n${missing.join('\n')}`);
});
