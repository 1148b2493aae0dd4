import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { herokuCli, type HerokuCli } from '../helpers/heroku-cli.js';

let s: Slipway;
let heroku: HerokuCli;
before(async () => {
  s = await startSlipway();
  heroku = await herokuCli(s);
});
after(async () => {
  await s?.destroy();
});

test('heroku auth:whoami and apps:create work against Slipway', async () => {
  const whoami = await heroku.run(['auth:whoami']);
  assert.equal(whoami.code, 0, whoami.stderr);
  assert.match(whoami.stdout, /admin@slipway\.local/);
  const created = await heroku.run(['apps:create', 'cli-smoke']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout + created.stderr, /cli-smoke/);
  const list = await heroku.run(['apps']);
  assert.match(list.stdout, /cli-smoke/);
});
