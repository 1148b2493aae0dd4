/**
 * App webhooks end to end: subscriptions through the API and the real heroku CLI, signed
 * deliveries to a real HTTP receiver on 127.0.0.1 after a real git push, retries of `sync`
 * webhooks, delivery records, resumption after a crash, and a secret that never leaks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, recentLogs } from '../helpers/flow.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** A webhook receiver: `/ok` answers 200, `/flaky` fails each delivery twice, `/down` always 500, `/gate` 500 while closed. */
class Receiver {
  readonly received: Received[] = [];
  gateOpen = false;
  private readonly failures = new Map<string, number>();
  private server!: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        this.received.push({ path, headers: req.headers, raw, body });
        const id = String(req.headers['heroku-webhook-id']);
        let status = 200;
        if (path === '/down') status = 500;
        if (path === '/gate' && !this.gateOpen) status = 500;
        if (path === '/flaky') {
          const failed = this.failures.get(id) ?? 0;
          if (failed < 2) {
            this.failures.set(id, failed + 1);
            status = 500;
          }
        }
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const sign = (secret: string, raw: string) => createHmac('sha256', secret).update(raw, 'utf8').digest('base64');

let s: Slipway;
let receiver: Receiver;
let heroku: HerokuCli;
const APP = 'hooked';
const SECRET = 'top-secret-signing-key-4f9a';
const AUTH = 'Bearer receiver-token-77';

before(async () => {
  receiver = new Receiver();
  await receiver.start();
  s = await startSlipway();
  heroku = await herokuCli(s);
  assert.equal((await s.api('POST', '/apps', { name: APP })).status, 201);
});

after(async () => {
  await s?.destroy();
  await receiver?.stop();
});

test('deliveries for builds and releases arrive signed, with the Authorization header', async () => {
  const created = await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release', 'api:build'], level: 'notify', url: receiver.url('/ok'), secret: SECRET, authorization: AUTH });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.headers.get('heroku-webhook-secret'), SECRET);
  assert.deepEqual(created.body.include, ['api:release', 'api:build']);
  assert.equal(created.body.level, 'notify');
  assert.ok(!created.text.includes(SECRET) && !created.text.includes(AUTH), 'the body carries neither the secret nor the authorization');
  const hookId = created.body.id;

  // Without a secret, one is generated and returned once.
  const generated = await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:formation'], level: 'notify', url: receiver.url('/ok') });
  assert.equal(generated.status, 201, generated.text);
  const generatedSecret = generated.headers.get('heroku-webhook-secret');
  assert.ok(generatedSecret && generatedSecret.length >= 32, 'a generated secret');

  // Bad input is refused.
  assert.equal((await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:nope'], level: 'notify', url: receiver.url('/ok') })).status, 422);
  assert.equal((await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release'], level: 'loud', url: receiver.url('/ok') })).status, 422);
  assert.equal((await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release'], level: 'notify', url: 'ftp://x' })).status, 422);

  const { push } = await deployExample(s, APP, 'node-app');
  assert.equal(push.code, 0, push.stderr);

  const releases = (await s.api('GET', `/apps/${APP}/releases`)).body;
  const deployRelease = releases[releases.length - 1];
  const okFor = (resource: string, action: string) => receiver.at('/ok').filter((r) => r.body?.resource === resource && r.body?.action === action && r.body?.webhook_metadata?.webhook?.id === hookId);
  await waitFor('build and release notifications', () => okFor('build', 'create').length >= 1 && okFor('build', 'update').length >= 1 && okFor('release', 'create').length >= 1 && okFor('release', 'update').length >= 1, 120_000);

  for (const r of receiver.at('/ok').filter((r) => r.body?.webhook_metadata?.webhook?.id === hookId)) {
    assert.equal(r.headers['heroku-webhook-hmac-sha256'], sign(SECRET, r.raw), 'the HMAC signs the raw body with the secret');
    assert.equal(r.headers.authorization, AUTH);
    assert.equal(r.headers['heroku-webhook-id'], r.body.webhook_metadata.delivery.id);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.body.version, 'application/vnd.heroku+json; version=3');
    for (const key of ['id', 'created_at', 'data', 'action', 'actor', 'previous_data', 'published_at', 'resource', 'sequence', 'updated_at', 'webhook_metadata']) {
      assert.ok(key in r.body, `notification has ${key}`);
    }
    assert.ok(r.body.webhook_metadata.attempt.id && r.body.webhook_metadata.event.id === r.body.id);
    assert.equal(r.body.webhook_metadata.event.include, `api:${r.body.resource}`);
    assert.equal(r.body.actor.email, 'admin@slipway.local');
  }
  const build = okFor('build', 'update')[0].body.data;
  assert.equal(build.status, 'succeeded');
  assert.equal(build.app.id, created.body.app.id);
  const releaseDone = okFor('release', 'update').find((r) => r.body.data.id === deployRelease.id);
  assert.ok(releaseDone, 'the deploy release was announced when it left pending');
  assert.equal(releaseDone.body.data.status, 'succeeded');
  assert.equal(releaseDone.body.data.slug.id, build.slug.id);
  assert.deepEqual(releaseDone.body.previous_data, { status: 'pending' });

  // The formation webhook hears about scaling, signed with the generated secret.
  assert.equal((await s.api('PATCH', `/apps/${APP}/formation`, { updates: [{ type: 'worker', quantity: 1 }] })).status, 200);
  const formation = (await waitFor('a formation notification', () => receiver.at('/ok').find((r) => r.body?.resource === 'formation')))!;
  assert.equal(formation.headers['heroku-webhook-hmac-sha256'], sign(generatedSecret!, formation.raw));
  assert.equal(formation.body.data.type, 'worker');
  assert.equal(formation.body.data.quantity, 1);
  assert.equal(formation.headers.authorization, undefined);
  await s.api('PATCH', `/apps/${APP}/formation`, { updates: [{ type: 'worker', quantity: 0 }] });

  // Delivery records.
  const deliveries = await waitFor('recorded deliveries', async () => {
    const list = (await s.api('GET', `/apps/${APP}/webhook-deliveries`)).body as any[];
    const mine = list.filter((d) => d.webhook.id === hookId);
    return mine.length >= 4 && mine.every((d) => d.status === 'succeeded') ? mine : undefined;
  });
  for (const d of deliveries) {
    assert.equal(d.num_attempts, 1);
    assert.equal(d.last_attempt.code, 200);
    assert.equal(d.last_attempt.status, 'succeeded');
    assert.equal(d.webhook.level, 'notify');
    assert.match(d.event.include, /^api:(build|release)$/);
  }
  const one = (await s.api('GET', `/apps/${APP}/webhook-deliveries/${deliveries[0].id}`)).body;
  assert.equal(one.id, deliveries[0].id);
  const event = (await s.api('GET', `/apps/${APP}/webhook-events/${one.event.id}`)).body;
  assert.equal(event.id, one.event.id);
  assert.equal(event.payload.version, 'application/vnd.heroku+json; version=3');
  assert.ok((await s.api('GET', `/apps/${APP}/webhook-events`)).body.some((e: any) => e.id === event.id));
});

test('a sync webhook is retried until the receiver accepts; notify is tried once', async () => {
  const flaky = await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release'], level: 'sync', url: receiver.url('/flaky'), secret: SECRET });
  assert.equal(flaky.status, 201, flaky.text);
  const down = await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release'], level: 'notify', url: receiver.url('/down') });
  assert.equal(down.status, 201, down.text);

  assert.equal((await s.api('PATCH', `/apps/${APP}/config-vars`, { RETRY_ME: '1' })).status, 200);
  const retried = await waitFor('the sync deliveries to succeed', async () => {
    const list = ((await s.api('GET', `/apps/${APP}/webhook-deliveries`)).body as any[]).filter((d) => d.webhook.id === flaky.body.id);
    return list.length >= 1 && list.every((d) => d.status === 'succeeded') ? list : undefined;
  }, 60_000, 250);
  for (const d of retried) {
    assert.equal(d.num_attempts, 3, 'two failures, then success');
    assert.equal(d.last_attempt.code, 200);
    assert.equal(d.next_attempt_at, null);
    const attempts = receiver.at('/flaky').filter((r) => r.headers['heroku-webhook-id'] === d.id);
    assert.equal(attempts.length, 3);
    assert.equal(new Set(attempts.map((a) => a.body.webhook_metadata.attempt.id)).size, 3, 'each attempt has its own id');
    for (const a of attempts) assert.equal(a.headers['heroku-webhook-hmac-sha256'], sign(SECRET, a.raw));
  }

  const failed = await waitFor('the notify delivery to fail', async () => {
    const list = ((await s.api('GET', `/apps/${APP}/webhook-deliveries?eq[status]=failed`)).body as any[]).filter((d) => d.webhook.id === down.body.id);
    return list.length >= 1 ? list : undefined;
  });
  assert.equal(failed[0].num_attempts, 1);
  assert.equal(failed[0].last_attempt.code, 500);
  assert.equal(failed[0].last_attempt.status, 'failed');

  // heroku webhooks:deliveries lists them, with the Range the CLI sends.
  const cli = await heroku.run(['webhooks:deliveries', '-a', APP]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok(cli.stdout.includes(retried[0].id), cli.stdout);
  assert.ok(cli.stdout.includes(failed[0].id), cli.stdout);
  const onlyFailed = await heroku.run(['webhooks:deliveries', '-a', APP, '--status', 'failed']);
  assert.equal(onlyFailed.code, 0, onlyFailed.stderr);
  assert.ok(onlyFailed.stdout.includes(failed[0].id) && !onlyFailed.stdout.includes(retried[0].id), onlyFailed.stdout);

  for (const id of [flaky.body.id, down.body.id]) assert.equal((await s.api('DELETE', `/apps/${APP}/webhooks/${id}`)).status, 200);
});

test('heroku webhooks, webhooks:add/info/update/remove work unchanged', async () => {
  const existing = new Set(((await s.api('GET', `/apps/${APP}/webhooks`)).body as any[]).map((h) => h.id));
  const add = await heroku.run(['webhooks:add', '-a', APP, '-i', 'api:release,api:build', '-l', 'notify', '-u', receiver.url('/ok'), '-s', 'cli-secret-123456', '-t', 'Bearer cli-token']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /cli-secret-123456/, 'the CLI prints the signing secret from Heroku-Webhook-Secret');
  const generated = await heroku.run(['webhooks:add', '-a', APP, '-i', 'api:dyno', '-l', 'sync', '-u', receiver.url('/ok')]);
  assert.equal(generated.code, 0, generated.stderr);
  assert.doesNotMatch(generated.stderr, /no secret found/);

  const list = await heroku.run(['webhooks', '-a', APP]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /api:release,api:build/);
  assert.match(list.stdout, /api:dyno/);
  const hooks = (await s.api('GET', `/apps/${APP}/webhooks`)).body as any[];
  // Earlier tests may have left a webhook with the same include and URL: pick the new one.
  const cliHook = hooks.find((h) => !existing.has(h.id) && h.include.join(',') === 'api:release,api:build' && h.url === receiver.url('/ok') && h.created_at);
  assert.ok(cliHook);

  const info = await heroku.run(['webhooks:info', cliHook.id, '-a', APP]);
  assert.equal(info.code, 0, info.stderr);
  assert.ok(info.stdout.includes(cliHook.id) && info.stdout.includes(receiver.url('/ok')), info.stdout);

  const update = await heroku.run(['webhooks:update', cliHook.id, '-a', APP, '-i', 'api:release', '-l', 'sync', '-u', receiver.url('/ok')]);
  assert.equal(update.code, 0, update.stderr);
  const updated = (await s.api('GET', `/apps/${APP}/webhooks/${cliHook.id}`)).body;
  assert.deepEqual(updated.include, ['api:release']);
  assert.equal(updated.level, 'sync');

  // The secret given on the command line signs deliveries.
  const before = receiver.at('/ok').length;
  assert.equal((await s.api('PATCH', `/apps/${APP}/config-vars`, { SIGNED_BY_CLI: '1' })).status, 200);
  const delivered = (await waitFor('a delivery to the CLI webhook', () => receiver.at('/ok').slice(before).find((r) => r.body?.webhook_metadata?.webhook?.id === cliHook.id)))!;
  assert.equal(delivered.headers['heroku-webhook-hmac-sha256'], sign('cli-secret-123456', delivered.raw));
  assert.equal(delivered.headers.authorization, 'Bearer cli-token');

  for (const h of hooks) {
    const removed = await heroku.run(['webhooks:remove', h.id, '-a', APP]);
    assert.equal(removed.code, 0, removed.stderr);
  }
  const empty = await heroku.run(['webhooks', '-a', APP]);
  assert.match(empty.stdout, /has no webhooks/);
});

test('pending deliveries survive a crash of Slipway and are sent after it starts again', async () => {
  const gate = await s.api('POST', `/apps/${APP}/webhooks`, { include: ['api:release'], level: 'sync', url: receiver.url('/gate'), secret: SECRET });
  assert.equal(gate.status, 201, gate.text);
  assert.equal((await s.api('PATCH', `/apps/${APP}/config-vars`, { BEFORE_CRASH: '1' })).status, 200);
  const retrying = await waitFor('a delivery in retry', async () => {
    const list = ((await s.api('GET', `/apps/${APP}/webhook-deliveries?eq[status]=retrying`)).body as any[]).filter((d) => d.webhook.id === gate.body.id);
    return list[0];
  });
  assert.ok(retrying.next_attempt_at, 'a retrying delivery says when it is tried next');
  await s.kill();
  receiver.gateOpen = true;
  await s.restart();
  const done = await waitFor('the delivery to succeed after the restart', async () => {
    const d = (await s.api('GET', `/apps/${APP}/webhook-deliveries/${retrying.id}`)).body;
    return d?.status === 'succeeded' ? d : undefined;
  }, 60_000, 250);
  assert.ok(done.num_attempts >= 2);
  const last = receiver.at('/gate').filter((r) => r.headers['heroku-webhook-id'] === retrying.id).pop()!;
  assert.equal(last.headers['heroku-webhook-hmac-sha256'], sign(SECRET, last.raw));
});

test('the secret never appears in API responses or logs', async () => {
  const texts = [
    (await s.api('GET', `/apps/${APP}/webhooks`)).text,
    (await s.api('GET', `/apps/${APP}/webhook-deliveries`)).text,
    (await s.api('GET', `/apps/${APP}/webhook-events`)).text,
    await recentLogs(s, APP),
    s.output(),
  ];
  for (const text of texts) {
    assert.ok(!text.includes(SECRET), 'the signing secret leaked');
    assert.ok(!text.includes('cli-secret-123456'), 'the CLI secret leaked');
    assert.ok(!text.includes(AUTH), 'the authorization value leaked');
  }
});
