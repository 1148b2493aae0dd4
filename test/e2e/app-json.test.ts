/**
 * app.json end to end: POST /app-setups with real source tarballs (system tar, a copy of an
 * example plus an app.json), and `slipway apps:create --manifest`. Checks config vars,
 * buildpacks, formation after the deploy, add-ons recorded, postdeploy exactly once, and that
 * an invalid app.json gives a precise error and leaves no app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, EXAMPLES, startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { recentLogs } from '../helpers/flow.js';

let s: Slipway;
const scratch = mkdtempSync(join(tmpdir(), 'slipway-app-json-'));
let counter = 0;

before(async () => {
  s = await startSlipway();
});
after(async () => {
  await s?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** A copy of an example with `appJson` as its app.json, uploaded as a source blob; returns its URL. */
async function sourceWith(example: string, appJson: unknown): Promise<string> {
  const dir = join(scratch, `src-${counter++}`);
  cpSync(join(EXAMPLES, example), dir, { recursive: true });
  if (appJson !== null) writeFileSync(join(dir, 'app.json'), typeof appJson === 'string' ? appJson : JSON.stringify(appJson, null, 2));
  const tarball = `${dir}.tgz`;
  const tar = await exec('tar', ['-czf', tarball, '-C', dir, '.']);
  assert.equal(tar.code, 0, tar.stderr);
  const source = await s.api('POST', '/sources');
  assert.equal(source.status, 201, source.text);
  const put = await fetch(source.body.source_blob.put_url, { method: 'PUT', body: new Uint8Array(readFileSync(tarball)), headers: { 'Content-Type': '' } });
  assert.equal(put.status, 200, await put.text());
  return source.body.source_blob.get_url as string;
}

async function setUp(body: unknown): Promise<any> {
  const created = await s.api('POST', '/app-setups', body);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.status, 'pending');
  return waitFor(
    'the app setup to finish',
    async () => {
      const setup = (await s.api('GET', `/app-setups/${created.body.id}`)).body;
      return setup.status !== 'pending' ? setup : undefined;
    },
    240_000,
    250,
  );
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('POST /app-setups from a source tarball', () => {
  const APP = 'manifest-shop';
  const appJson = {
    name: 'Manifest shop',
    env: {
      SESSION_SECRET: { description: 'signs cookies', generator: 'secret' },
      GREETING: 'hello from app.json',
      DATABASE_URL: { description: 'where the data lives' },
      OPTIONAL_FLAG: { required: false },
    },
    formation: { web: { quantity: 2, size: 'standard-2x' }, worker: { quantity: 1 } },
    buildpacks: [{ url: 'heroku/nodejs' }, { url: 'procfile' }],
    addons: ['heroku-postgresql', { plan: 'heroku-redis:mini', as: 'CACHE' }],
    scripts: { postdeploy: 'echo "POSTDEPLOY-RAN greeting=$GREETING"' },
    success_url: '/welcome',
    environments: { review: { env: { GREETING: 'hello from review' } } },
  };
  let source: string;
  let setup: any;

  before(async () => {
    source = await sourceWith('node-app', appJson);
    setup = await setUp({ app: { name: APP }, source_blob: { url: source, version: 'v1' }, overrides: { env: { DATABASE_URL: 'postgres://given' } } });
  });

  test('the setup succeeds: app, build, postdeploy, success URL', () => {
    assert.equal(setup.status, 'succeeded', setup.failure_message);
    assert.equal(setup.app.name, APP);
    assert.deepEqual(setup.manifest_errors, []);
    assert.equal(setup.build.status, 'succeeded');
    assert.equal(setup.postdeploy.exit_code, 0);
    assert.match(setup.postdeploy.output, /POSTDEPLOY-RAN greeting=hello from app\.json/);
    assert.equal(setup.resolved_success_url, `http://${APP}.localhost:${s.port}/welcome`);
  });

  test('config vars: values, the override, a generated secret; optional ones left out', async () => {
    const config = (await s.api('GET', `/apps/${APP}/config-vars`)).body;
    assert.equal(config.GREETING, 'hello from app.json');
    assert.equal(config.DATABASE_URL, 'postgres://given');
    assert.match(config.SESSION_SECRET, /^[0-9a-f]{64}$/);
    assert.equal('OPTIONAL_FLAG' in config, false);
    const releases = (await s.api('GET', `/apps/${APP}/releases`)).body;
    assert.equal(releases[0].description, 'Initial release');
    assert.equal((await s.api('GET', `/apps/${APP}/releases/1/config-vars`)).body.GREETING, 'hello from app.json');
  });

  test("the build used app.json's buildpacks", async () => {
    const build = (await s.api('GET', `/apps/${APP}/builds/${setup.build.id}`)).body;
    assert.deepEqual(build.buildpacks.map((b: any) => b.url), ['nodejs', 'procfile']);
    const output = await (await fetch(setup.build.output_stream_url)).text();
    assert.match(output, /Using buildpacks:/);
  });

  test('the formation is applied from the first deploy', async () => {
    const formation = (await s.api('GET', `/apps/${APP}/formation`)).body;
    const byType = Object.fromEntries(formation.map((f: any) => [f.type, [f.quantity, f.size]]));
    assert.deepEqual(byType, { web: [2, 'Standard-2X'], worker: [1, 'Basic'] });
    const dynos = await waitFor('web.1, web.2 and worker.1', async () => {
      const list = (await s.api('GET', `/apps/${APP}/dynos`)).body as any[];
      const names = list.filter((d) => d.type !== 'postdeploy').map((d) => d.name).sort();
      return names.join(',') === 'web.1,web.2,worker.1' ? list : undefined;
    }, 120_000, 250);
    assert.equal(dynos.find((d: any) => d.name === 'web.2').size, 'Standard-2X');
  });

  test('add-ons are recorded with a clear message, not provisioned', async () => {
    const logs = await recentLogs(s, APP);
    assert.match(logs, /app\.json asks for add-ons \(heroku-postgresql, heroku-redis:mini as CACHE\); Slipway has no add-ons yet, so they were recorded but not provisioned/);
    assert.deepEqual((await s.api('GET', `/apps/${APP}/addons`)).body, []);
  });

  test('postdeploy ran exactly once, though the app was deployed twice', async () => {
    const again = await s.api('POST', `/apps/${APP}/builds`, { source_blob: { url: source, version: 'v2' } });
    assert.equal(again.status, 201, again.text);
    const build = await waitFor('the second build', async () => {
      const b = (await s.api('GET', `/apps/${APP}/builds/${again.body.id}`)).body;
      return b.status !== 'pending' && b.release ? b : undefined;
    }, 240_000, 250);
    assert.equal(build.status, 'succeeded');
    await waitFor('the second release to settle', async () => {
      const r = (await s.api('GET', `/apps/${APP}/releases/${build.release.id}`)).body;
      return r.status === 'succeeded';
    }, 120_000, 250);
    // A release made by a config change has a slug too; it must not run the script either.
    assert.equal((await s.api('PATCH', `/apps/${APP}/config-vars`, { EXTRA: '1' })).status, 200);
    await waitFor('every release to settle', async () => {
      const list = (await s.api('GET', `/apps/${APP}/releases`)).body as any[];
      return list.length === 4 && list.every((r) => r.status === 'succeeded');
    }, 120_000, 250);
    const logs = await recentLogs(s, APP);
    assert.equal(count(logs, 'POSTDEPLOY-RAN greeting=hello from app.json'), 1, logs);
    assert.equal(count(logs, 'Running the app.json postdeploy script'), 1, logs);
    assert.deepEqual((await s.api('GET', `/app-setups/${setup.id}`)).body.postdeploy, setup.postdeploy);
  });

  test('another account cannot read the setup', async () => {
    const other = await s.api('POST', '/accounts', { email: 'setup-stranger@example.com' });
    assert.equal(other.status, 201, other.text);
    const res = await s.api('GET', `/app-setups/${setup.id}`, undefined, { Authorization: `Bearer ${other.body.api_key}` });
    assert.equal(res.status, 404);
  });
});

describe('invalid app.json: a precise error and no app', () => {
  const cases: Array<[string, unknown, Record<string, unknown>, string[]]> = [
    ['a JSON syntax error', '{\n  "env": {\n    "A": "b",\n  }\n}', {}, ['app.json: line 4, column 3: a comma before } is not allowed in JSON (trailing comma); remove it']],
    ['a bad generator and a bad quantity', { env: { SECRET_KEY: { generator: 'uuid' } }, formation: { web: { quantity: -1 } } }, {}, [
      'app.json: env.SECRET_KEY.generator must be "secret" (the only generator app.json has), not "uuid"',
      'app.json: formation.web.quantity must be a whole number from 0 to 100, not -1',
    ]],
    ['a required config var without a value', { env: { API_TOKEN: { description: 'for the payment API' }, FINE: 'x' } }, { FINE: 'y' }, [
      'app.json: env.API_TOKEN is required and has no value (for the payment API); give it one with overrides.env',
    ]],
  ];
  for (const [label, appJson, env, errors] of cases) {
    test(label, async () => {
      const name = `bad-manifest-${counter}`;
      const setup = await setUp({ app: { name }, source_blob: { url: await sourceWith('static-site', appJson) }, overrides: { env } });
      assert.equal(setup.status, 'failed');
      assert.deepEqual(setup.manifest_errors, errors);
      assert.equal(setup.failure_message, errors.length === 1 ? errors[0] : `app.json has ${errors.length} problems:\n${errors.join('\n')}`);
      assert.equal(setup.build, null);
      assert.equal((await s.api('GET', `/apps/${name}`)).status, 404);
      // Nothing is left behind: the name is free again.
      assert.equal((await s.api('POST', '/apps', { name })).status, 201);
    });
  }

  test('a request error is answered at once (422), before anything is created', async () => {
    const res = await s.api('POST', '/app-setups', { app: { name: 'no-source' } });
    assert.equal(res.status, 422);
    assert.match(res.body.message, /source_blob\.url is required/);
    const taken = await s.api('POST', '/app-setups', { app: { name: 'manifest-shop' }, source_blob: { url: 'http://127.0.0.1:1/x.tgz' } });
    assert.equal(taken.status, 422);
    assert.match(taken.body.message, /Name manifest-shop is already taken/);
  });
});

describe('postdeploy failure and a tarball without app.json', () => {
  test('a failing postdeploy fails the setup; its output and exit code are kept', async () => {
    const setup = await setUp({ app: { name: 'postdeploy-fails' }, source_blob: { url: await sourceWith('static-site', { scripts: { postdeploy: 'echo about to fail; exit 3' } }) } });
    assert.equal(setup.status, 'failed');
    assert.match(setup.failure_message, /The postdeploy script failed \(exit status 3\)/);
    assert.equal(setup.postdeploy.exit_code, 3);
    assert.match(setup.postdeploy.output, /about to fail/);
    const logs = await recentLogs(s, 'postdeploy-fails');
    assert.match(logs, /The postdeploy script failed \(exit status 3\); it will not run again/);
    // The app was deployed; only the script failed.
    assert.equal((await s.api('GET', '/apps/postdeploy-fails')).status, 200);
  });

  test('without app.json the setup just creates and deploys the app', async () => {
    const setup = await setUp({ source_blob: { url: await sourceWith('static-site', null) } });
    assert.equal(setup.status, 'succeeded', setup.failure_message);
    assert.match(setup.app.name, /^[a-z]+-[a-z]+-\d+$/);
    assert.equal(setup.postdeploy, null);
  });
});

describe('slipway apps:create --manifest', () => {
  const home = mkdtempSync(join(tmpdir(), 'slipway-cli-home-'));
  const env: Record<string, string | undefined> = {
    HOME: home,
    SLIPWAY_CONFIG_DIR: join(home, 'config'),
    SLIPWAY_URL: undefined,
    SLIPWAY_API_KEY: undefined,
    SLIPWAY_APP: undefined,
    NO_COLOR: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const cli = (args: string[], cwd: string) => exec(process.execPath, [CLI, ...args], { cwd, env });
  const project = (appJson: string) => {
    const dir = join(scratch, `cli-${counter++}`);
    cpSync(join(EXAMPLES, 'static-site'), dir, { recursive: true });
    writeFileSync(join(dir, 'app.json'), appJson);
    return dir;
  };

  before(async () => {
    const login = await cli(['login', '--url', s.url, '--api-key', s.apiKey], home);
    assert.equal(login.code, 0, login.stderr);
  });

  test('creates the app with config vars, buildpacks and formation from ./app.json', async () => {
    const dir = project(JSON.stringify({
      env: { TOKEN: { generator: 'secret' }, MODE: 'demo', NEEDED: { description: 'must be given' } },
      environments: { review: { env: { MODE: 'review' } } },
      buildpacks: [{ url: 'heroku/static' }],
      formation: { web: { quantity: 0 } },
      addons: ['heroku-postgresql'],
    }));
    const created = await cli(['apps:create', 'cli-manifest', '--manifest', '--env', 'NEEDED=given', '--no-remote'], dir);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Creating cli-manifest\.\.\. done/);
    assert.match(created.stderr, /Config vars from app\.json: TOKEN, MODE, NEEDED/);
    assert.match(created.stderr, /Slipway has no add-ons yet/);
    const config = (await s.api('GET', '/apps/cli-manifest/config-vars')).body;
    assert.equal(config.MODE, 'demo');
    assert.equal(config.NEEDED, 'given');
    assert.match(config.TOKEN, /^[0-9a-f]{64}$/);
  });

  test('the review environment, set up through the API with "environment"', async () => {
    const res = await s.api('POST', '/app-setups', { app: { name: 'api-review' }, manifest: { env: { MODE: 'demo' }, environments: { review: { env: { MODE: 'review' } } } }, environment: 'review' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'succeeded');
    assert.equal((await s.api('GET', '/apps/api-review/config-vars')).body.MODE, 'review');
  });

  test('an invalid ./app.json is reported with line and column; nothing is created', async () => {
    const dir = project('{\n  "env": {\n    "A": "b"\n  },\n  "formation": {"web": {"quantity": 1,}}\n}\n');
    const res = await cli(['apps:create', 'cli-broken', '--manifest', '--no-remote'], dir);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /app\.json: line 5, column 39: a comma before \} is not allowed in JSON \(trailing comma\); remove it/);
    assert.match(res.stderr, /Nothing was created/);
    assert.equal((await s.api('GET', '/apps/cli-broken')).status, 404);
  });

  test('a required var left out names the --env to pass', async () => {
    const dir = project(JSON.stringify({ env: { API_TOKEN: {} } }));
    const res = await cli(['apps:create', 'cli-missing', '--manifest', '--no-remote'], dir);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /app\.json: env\.API_TOKEN is required and has no value; give it one with --env KEY=VALUE/);
    assert.equal((await s.api('GET', '/apps/cli-missing')).status, 404);
  });
});
