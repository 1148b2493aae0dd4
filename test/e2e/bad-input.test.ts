import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { exampleRepo, git } from '../helpers/exec.js';
import { createApp, gitUrl } from '../helpers/flow.js';

let s: Slipway;
before(async () => {
  s = await startSlipway();
  await createApp(s, 'owned');
});
after(async () => {
  await s?.destroy();
});

test('invalid app names are refused with what to fix', async () => {
  for (const name of ['A', 'UPPER', '1abc', 'has_underscore', 'trailing-', 'x'.repeat(31)]) {
    const res = await s.api('POST', '/apps', { name });
    assert.equal(res.status, 422, name);
    assert.equal(res.body.id, 'invalid_params');
    assert.match(res.body.message, /lowercase letters, digits and dashes/);
  }
  const taken = await s.api('POST', '/apps', { name: 'owned' });
  assert.equal(taken.status, 422);
  assert.match(taken.body.message, /already taken/);
  const generated = await s.api('POST', '/apps', {});
  assert.equal(generated.status, 201);
  assert.match(generated.body.name, /^[a-z]+-[a-z]+-\d{5}$/);
});

test('wrong or missing API keys get 401 with a message', async () => {
  const none = await fetch(`${s.url}/apps`, { headers: { Accept: 'application/vnd.heroku+json; version=3' } });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).id, 'unauthorized');
  const wrong = await s.api('GET', '/apps', undefined, { Authorization: 'Bearer not-a-key' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.message, /Invalid credentials/);
});

test('malformed JSON and oversized JSON bodies are refused cleanly', async () => {
  const bad = await fetch(`${s.url}/apps`, { method: 'POST', headers: { Authorization: `Bearer ${s.apiKey}`, 'Content-Type': 'application/json' }, body: '{"name": ' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).message, /not valid JSON/);
  const huge = await fetch(`${s.url}/apps/owned/config-vars`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${s.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ BIG: 'x'.repeat(3 * 1024 * 1024) }),
  });
  assert.equal(huge.status, 413);
  const config = await s.api('GET', '/apps/owned/config-vars');
  assert.deepEqual(config.body, {}, 'nothing was half-written');
});

test('a client announcing a 2 GB body is turned away without reading it', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${s.url}/apps/owned/config-vars`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${s.apiKey}`, 'Content-Type': 'application/json', 'Content-Length': String(2 * 1024 ** 3) },
    });
    req.on('response', (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.write('{"A":"');
  });
  assert.equal(status, 413);
});

test('invalid config var names are refused', async () => {
  const res = await s.api('PATCH', '/apps/owned/config-vars', { 'BAD-NAME': 'x' });
  assert.equal(res.status, 422);
  assert.match(res.body.message, /BAD-NAME/);
  const obj = await s.api('PATCH', '/apps/owned/config-vars', { NESTED: { a: 1 } });
  assert.equal(obj.status, 422);
});

test('another account cannot see, change or push to an app it does not own', async () => {
  const created = await s.api('POST', '/accounts', { email: 'mallory@example.com' });
  assert.equal(created.status, 201, created.text);
  const key = created.body.api_key;
  const asMallory = (method: string, path: string, body?: unknown) => s.api(method, path, body, { Authorization: `Bearer ${key}` });
  assert.equal((await asMallory('GET', '/apps/owned')).status, 403);
  assert.equal((await asMallory('PATCH', '/apps/owned/config-vars', { A: 'b' })).status, 403);
  assert.equal((await asMallory('DELETE', '/apps/owned')).status, 403);
  assert.deepEqual((await asMallory('GET', '/apps')).body, []);
  const notAdmin = await asMallory('POST', '/accounts', { email: 'eve@example.com' });
  assert.equal(notAdmin.status, 403);

  const repo = await exampleRepo('static-site');
  const push = await git(repo, 'push', gitUrl(s, 'owned', key), 'main');
  assert.notEqual(push.code, 0);
  assert.match(push.stderr, /do not have access to the app owned/);
  const wrongKey = await git(repo, 'push', gitUrl(s, 'owned', 'wrong-key'), 'main');
  assert.notEqual(wrongKey.code, 0);
  const missing = await git(repo, 'push', gitUrl(s, 'no-such-app'), 'main');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Couldn't find that app/);
  assert.equal((await s.api('GET', '/apps/owned/releases')).body.length, 1, 'nothing was released');
});
