/** app.json: parsing, every validation error with its JSON path, environments, config vars. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppJsonError, configVarsFor, generateSecret, parseAppJson, resolveAppJson, validateAppJson } from '../../src/core/app-json.js';

/** The errors an invalid manifest gives (fails the test if it is valid). */
function errorsOf(manifest: unknown): string[] {
  try {
    typeof manifest === 'string' ? parseAppJson(manifest) : validateAppJson(manifest);
  } catch (err) {
    assert.ok(err instanceof AppJsonError, `expected an AppJsonError, got ${String(err)}`);
    assert.equal(err.status, 422);
    assert.equal(err.message, err.errors.join('\n'));
    return err.errors;
  }
  assert.fail(`expected ${JSON.stringify(manifest)} to be invalid`);
}

const HEROKU_EXAMPLE = `{
  "name": "Small Sharp Tool",
  "description": "This app does one little thing, and does it well.",
  "keywords": ["productivity", "HTML5", "scalpel"],
  "website": "https://small-sharp-tool.com/",
  "repository": "https://github.com/jane-doe/small-sharp-tool",
  "logo": "https://small-sharp-tool.com/logo.svg",
  "success_url": "/welcome",
  "scripts": { "postdeploy": "bundle exec rake bootstrap" },
  "env": {
    "SECRET_TOKEN": { "description": "A secret key for verifying the integrity of signed cookies.", "generator": "secret" },
    "WEB_CONCURRENCY": { "description": "The number of processes to run.", "value": "5" }
  },
  "formation": { "web": { "quantity": 1, "size": "standard-1x" } },
  "image": "heroku/ruby",
  "addons": ["openredis", { "plan": "mongolab:shared-single-small", "as": "MONGO" }, { "plan": "heroku-postgresql", "options": { "version": "9.5" } }],
  "buildpacks": [{ "url": "https://github.com/stomita/heroku-buildpack-phantomjs" }],
  "environments": { "test": { "scripts": { "test": "bundle exec rake test" } } }
}`;

describe('valid manifests', () => {
  test("Heroku's documented example parses completely", () => {
    const { manifest, warnings } = parseAppJson(HEROKU_EXAMPLE);
    assert.deepEqual(warnings, []);
    assert.equal(manifest.name, 'Small Sharp Tool');
    assert.deepEqual(manifest.keywords, ['productivity', 'HTML5', 'scalpel']);
    assert.deepEqual(manifest.env, {
      SECRET_TOKEN: { description: 'A secret key for verifying the integrity of signed cookies.', generator: 'secret', required: true },
      WEB_CONCURRENCY: { description: 'The number of processes to run.', value: '5', required: true },
    });
    assert.deepEqual(manifest.formation, { web: { quantity: 1, size: 'Standard-1X' } });
    assert.deepEqual(manifest.addons, [{ plan: 'openredis' }, { plan: 'mongolab:shared-single-small', as: 'MONGO' }, { plan: 'heroku-postgresql', options: { version: '9.5' } }]);
    assert.deepEqual(manifest.buildpacks, ['https://github.com/stomita/heroku-buildpack-phantomjs']);
    assert.deepEqual(manifest.scripts, { postdeploy: { command: 'bundle exec rake bootstrap' } });
    assert.deepEqual(manifest.environments, { test: { scripts: { test: { command: 'bundle exec rake test' } } } });
    assert.equal(manifest.image, 'heroku/ruby');
    assert.equal(manifest.success_url, '/welcome');
  });

  const valid: Array<[string, unknown]> = [
    ['an empty object', {}],
    ['string shorthand for env', { env: { A: 'x', _B2: '' } }],
    ['required: false without a value', { env: { OPTIONAL: { required: false, description: 'only if you want it' } } }],
    ['formation with size only', { formation: { worker: { size: '2X' } } }],
    ['formation with quantity 0', { formation: { web: { quantity: 0 } } }],
    ['postdeploy as {command, size}', { scripts: { postdeploy: { command: 'npm run seed', size: 'performance-m' } } }],
    ['pr-predestroy and test-setup', { scripts: { 'pr-predestroy': 'echo bye', 'test-setup': 'npm ci', test: 'npm test' } }],
    ['an environment with every overridable key', { environments: { review: { env: { A: 'b' }, formation: { web: { quantity: 2 } }, addons: ['x'], buildpacks: [{ url: 'heroku/nodejs' }], scripts: { postdeploy: 'x' }, stack: 'heroku-24', image: 'i', success_url: '/' } } }],
    ['a byte-order mark before the JSON', '\uFEFF{"env": {"A": "b"}}'],
  ];
  for (const [label, manifest] of valid) {
    test(label, () => {
      const { warnings } = typeof manifest === 'string' ? parseAppJson(manifest) : validateAppJson(manifest);
      assert.deepEqual(warnings, []);
    });
  }

  test('sizes are normalised to their canonical names', () => {
    const { manifest } = validateAppJson({ formation: { web: { size: 'standard-2x' }, worker: { quantity: 1, size: '1x' } }, scripts: { postdeploy: { command: 'x', size: 'BASIC' } } });
    assert.deepEqual(manifest.formation, { web: { size: 'Standard-2X' }, worker: { quantity: 1, size: 'Standard-1X' } });
    assert.equal(manifest.scripts?.postdeploy.size, 'Basic');
  });
});

describe('unknown keys are warnings, with a suggestion for typos', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['a typo at the top level', { enviroments: {} }, ['app.json: "enviroments" is not an app.json key Slipway uses; it is ignored (did you mean "environments"?)']],
    ['another tool’s key', { healthchecks: {} }, ['app.json: "healthchecks" is not an app.json key Slipway uses; it is ignored']],
    ['a typo in an env var', { env: { A: { valeu: 'x', required: false } } }, ['app.json: env.A.valeu is not an app.json key Slipway uses; it is ignored (did you mean "value"?)']],
    ['a typo in a formation entry', { formation: { web: { quantity: 1, sise: 'basic' } } }, ['app.json: formation.web.sise is not an app.json key Slipway uses; it is ignored (did you mean "size"?)']],
    ['an unknown script', { scripts: { postdeplay: 'x' } }, ['app.json: scripts.postdeplay is not a script Slipway runs (postdeploy, pr-predestroy, test-setup, test); it is ignored (did you mean "postdeploy"?)']],
    ['a key an environment cannot override', { environments: { review: { name: 'x' } } }, ['app.json: environments.review.name is ignored: an environment can override only env, formation, addons, buildpacks, scripts, stack, image, success_url']],
    ['value and generator together', { env: { S: { value: 'x', generator: 'secret' } } }, ['app.json: env.S has both "value" and "generator"; the generated secret is used']],
  ];
  for (const [label, manifest, warnings] of cases) {
    test(label, () => assert.deepEqual(validateAppJson(manifest).warnings, warnings));
  }
});

describe('every invalid case names its JSON path and the fix', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['the top level is an array', [], ['app.json: the top level must be a JSON object ({"env": {...}, ...}), not an array']],
    ['the top level is a string', 'null', ['app.json: the top level must be a JSON object ({"env": {...}, ...}), not null']],
    ['name is a number', { name: 5 }, ['app.json: name must be a string, not a number']],
    ['keywords is a string', { keywords: 'a, b' }, ['app.json: keywords must be an array of strings, not a string']],
    ['a keyword is a number', { keywords: ['a', 1] }, ['app.json: keywords[1] must be a string, not a number']],
    ['website is an object', { website: {} }, ['app.json: website must be a string, not an object']],
    ['env is an array', { env: ['A'] }, ['app.json: env must be an object of config vars, e.g. {"KEY": "value"} or {"KEY": {"generator": "secret"}}, not an array']],
    ['an env key that is no config var name', { env: { '1BAD': 'x' } }, ['app.json: env["1BAD"]: "1BAD" is not a valid config var name; use letters, digits and underscores, not starting with a digit']],
    ['an env var that is a number', { env: { PORT: 5000 } }, ['app.json: env.PORT must be a string or an object with "value", "generator", "required" or "description", not a number (write it in quotes: "5000")']],
    ['an env var that is null', { env: { A: null } }, ['app.json: env.A must be a string or an object with "value", "generator", "required" or "description", not null']],
    ['env value is a boolean', { env: { DEBUG: { value: true } } }, ['app.json: env.DEBUG.value must be a string, not a boolean (write it in quotes: "true")']],
    ['env description is a number', { env: { A: { value: 'x', description: 1 } } }, ['app.json: env.A.description must be a string, not a number']],
    ['env required is a string', { env: { A: { required: 'yes', value: 'x' } } }, ['app.json: env.A.required must be true or false, not a string']],
    ['an unknown generator', { env: { SECRET_KEY: { generator: 'uuid' } } }, ['app.json: env.SECRET_KEY.generator must be "secret" (the only generator app.json has), not "uuid"']],
    ['formation is an array (the old form)', { formation: [{ process: 'web', quantity: 1 }] }, ['app.json: formation must be an object keyed by process type, e.g. {"web": {"quantity": 1, "size": "basic"}}, not an array']],
    ['a process type with a space', { formation: { 'we b': { quantity: 1 } } }, ['app.json: formation["we b"]: "we b" is not a valid process type; use up to 30 letters, digits, dashes and underscores, as in the Procfile']],
    ['the release phase in formation', { formation: { release: { quantity: 1 } } }, ['app.json: formation.release: the release phase runs once per release, not as dynos; remove it from formation']],
    ['a formation entry that is a number', { formation: { web: 2 } }, ['app.json: formation.web must be an object such as {"quantity": 1, "size": "basic"}, not a number']],
    ['a negative quantity', { formation: { web: { quantity: -1 } } }, ['app.json: formation.web.quantity must be a whole number from 0 to 100, not -1']],
    ['a fractional quantity', { formation: { web: { quantity: 1.5 } } }, ['app.json: formation.web.quantity must be a whole number from 0 to 100, not 1.5']],
    ['a quantity as a string', { formation: { web: { quantity: '2' } } }, ['app.json: formation.web.quantity must be a whole number from 0 to 100, not "2"']],
    ['a quantity above the limit', { formation: { worker: { quantity: 101 } } }, ['app.json: formation.worker.quantity must be a whole number from 0 to 100, not 101']],
    ['an unknown size', { formation: { web: { size: 'huge' } } }, ['app.json: formation.web.size: Dyno size "huge" is unknown; use one of Eco, Basic, Standard-1X, Standard-2X, Performance-M, Performance-L.']],
    ['a size that is a number', { formation: { web: { size: 1 } } }, ['app.json: formation.web.size must be a dyno size string such as "basic", not a number']],
    ['a formation entry with neither quantity nor size', { formation: { web: {} } }, ['app.json: formation.web needs "quantity", "size" or both, e.g. {"quantity": 1}']],
    ['addons is an object', { addons: { redis: true } }, ['app.json: addons must be an array of plans, e.g. ["heroku-postgresql"] or [{"plan": "heroku-redis:mini", "as": "CACHE"}], not an object']],
    ['an empty add-on', { addons: [''] }, ['app.json: addons[0] must not be empty; give an add-on such as "heroku-postgresql" or "heroku-postgresql:essential-0"']],
    ['an add-on without plan', { addons: [{ as: 'DB' }] }, ['app.json: addons[0].plan is required: the add-on and plan, e.g. "heroku-postgresql" or "heroku-postgresql:essential-0"']],
    ['an add-on that is a number', { addons: [1] }, ['app.json: addons[0] must be a plan name or an object with "plan", not a number']],
    ['a bad attachment name', { addons: [{ plan: 'heroku-redis', as: 'my cache' }] }, ['app.json: addons[0].as must be an attachment name of letters, digits and underscores starting with a letter (e.g. "CACHE"), not "my cache"']],
    ['add-on options that are a string', { addons: [{ plan: 'heroku-postgresql', options: 'v15' }] }, ['app.json: addons[0].options must be an object, not a string']],
    ['buildpacks is a string', { buildpacks: 'heroku/nodejs' }, ['app.json: buildpacks must be an array such as [{"url": "heroku/nodejs"}], not a string']],
    ['a buildpack given as a string', { buildpacks: ['heroku/nodejs'] }, ['app.json: buildpacks[0] must be an object such as {"url": "heroku/nodejs"}, not a string (write {"url": "heroku/nodejs"})']],
    ['a buildpack without url', { buildpacks: [{ name: 'x' }] }, [
      'app.json: buildpacks[0].url is required: a buildpack name (heroku/nodejs), a path or a git URL',
    ]],
    ['scripts is a string', { scripts: 'npm run seed' }, ['app.json: scripts must be an object such as {"postdeploy": "npm run seed"}, not a string']],
    ['an empty postdeploy', { scripts: { postdeploy: ' ' } }, ['app.json: scripts.postdeploy must not be empty; give a shell command or remove it']],
    ['a postdeploy that is an array', { scripts: { postdeploy: ['a', 'b'] } }, ['app.json: scripts.postdeploy must be a shell command string or {"command": "...", "size": "..."}, not an array']],
    ['a postdeploy object without command', { scripts: { postdeploy: { size: 'basic' } } }, ['app.json: scripts.postdeploy.command is required: the shell command to run']],
    ['a postdeploy with a bad size', { scripts: { postdeploy: { command: 'x', size: 'xl' } } }, ['app.json: scripts.postdeploy.size: Dyno size "xl" is unknown; use one of Eco, Basic, Standard-1X, Standard-2X, Performance-M, Performance-L.']],
    ['a test script as an object', { scripts: { test: { command: 'npm test' } } }, ['app.json: scripts.test must be a shell command string, not an object']],
    ['environments is an array', { environments: [] }, ['app.json: environments must be an object keyed by environment name, e.g. {"review": {"env": {...}}}, not an array']],
    ['an environment that is a string', { environments: { review: 'yes' } }, ['app.json: environments.review must be an object of keys to override (env, formation, addons, buildpacks, scripts, stack, image, success_url), not a string']],
    ['an error inside an environment', { environments: { review: { env: { SECRET_KEY: { generator: 'random' } } } } }, ['app.json: environments.review.env.SECRET_KEY.generator must be "secret" (the only generator app.json has), not "random"']],
    ['stack is a number', { stack: 24 }, ['app.json: stack must be a string, not a number']],
    ['success_url inside an environment is a boolean', { environments: { test: { success_url: true } } }, ['app.json: environments.test.success_url must be a string, not a boolean']],
  ];
  for (const [label, manifest, errors] of cases) {
    test(label, () => assert.deepEqual(errorsOf(manifest), errors));
  }

  test('all problems are reported at once', () => {
    assert.deepEqual(errorsOf({ name: 1, env: { A: 1 }, formation: { web: { quantity: -2 } } }), [
      'app.json: env.A must be a string or an object with "value", "generator", "required" or "description", not a number (write it in quotes: "1")',
      'app.json: formation.web.quantity must be a whole number from 0 to 100, not -2',
      'app.json: name must be a string, not a number',
    ]);
  });
});

describe('JSON syntax errors give line and column', () => {
  const cases: Array<[string, string, string]> = [
    ['a trailing comma in an object', '{\n  "env": {\n    "A": "b",\n  }\n}', 'app.json: line 4, column 3: a comma before } is not allowed in JSON (trailing comma); remove it'],
    ['a trailing comma in an array', '{"keywords": ["a",\n]}', 'app.json: line 2, column 1: a comma before ] is not allowed in JSON (trailing comma); remove it'],
    ['a missing comma between properties', '{\n  "name": "x"\n  "env": {}\n}', 'app.json: line 3, column 3: unexpected "\\""; expected "," or "}" after a property value'],
    ['a missing value', '{"name": }', 'app.json: line 1, column 10: unexpected "}"; expected a value (a string in double quotes, a number, true, false, null, an object or an array)'],
    ['single quotes', "{'name': 'x'}", 'app.json: line 1, column 2: unexpected "\'"; expected a property name in double quotes'],
    ['a single-quoted value', "{\"name\": 'x'}", 'app.json: line 1, column 10: strings must use double quotes, not single quotes'],
    ['a comment', '{\n  // the name\n  "name": "x"\n}', 'app.json: line 2, column 3: unexpected "/"; expected a property name in double quotes'],
    ['a missing colon', '{"name" "x"}', 'app.json: line 1, column 9: unexpected "\\""; expected ":" after the property name'],
    ['an unclosed string', '{\n  "name": "x\n}', 'app.json: line 2, column 11: this string is not closed before the end of the line; add the closing double quote'],
    ['an unclosed object', '{"env": {"A": "b"}', 'app.json: line 1, column 19: unexpected end of file; expected "," or "}" after a property value'],
    ['an empty file', '', 'app.json: line 1, column 1: the file is empty; it must hold a JSON object'],
    ['text after the document', '{}\n}', 'app.json: line 2, column 1: unexpected "}" after the end of the JSON document; remove it (or a closing bracket is extra)'],
    ['a bad escape', '{"name": "a\\qb"}', 'app.json: line 1, column 12: invalid escape \\q; use \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX'],
    ['a bare word', '{"name": yes}', 'app.json: line 1, column 10: unexpected "y"; expected a value (a string in double quotes, a number, true, false, null, an object or an array)'],
    ['a number with a leading plus', '{"n": +1}', 'app.json: line 1, column 7: unexpected "+"; expected a value (a string in double quotes, a number, true, false, null, an object or an array)'],
  ];
  for (const [label, text, error] of cases) {
    test(label, () => assert.deepEqual(errorsOf(text), [error]));
  }
});

describe('environments override the root keys', () => {
  const { manifest } = validateAppJson({
    env: { A: 'root', B: { value: 'root-b' }, SECRET: { generator: 'secret' } },
    formation: { web: { quantity: 2, size: 'standard-2x' }, worker: { quantity: 1 } },
    addons: ['heroku-postgresql'],
    buildpacks: [{ url: 'heroku/nodejs' }],
    scripts: { postdeploy: 'npm run seed', 'pr-predestroy': 'npm run cleanup' },
    success_url: '/welcome',
    environments: {
      review: { env: { A: 'review', C: { value: 'only-review' } }, formation: { web: { quantity: 1, size: 'basic' } }, scripts: { postdeploy: 'npm run seed:review' } },
      test: { addons: [], buildpacks: [{ url: 'heroku/nodejs' }, { url: 'heroku/python' }], scripts: { test: 'npm test' }, success_url: '/ok' },
    },
  });

  test('no environment: only the root keys', () => {
    const r = resolveAppJson(manifest);
    assert.equal(r.environment, null);
    assert.deepEqual(Object.keys(r.env), ['A', 'B', 'SECRET']);
    assert.equal(r.env.A.value, 'root');
    assert.deepEqual(r.formation, { web: { quantity: 2, size: 'Standard-2X' }, worker: { quantity: 1 } });
    assert.equal(r.scripts.postdeploy.command, 'npm run seed');
    assert.equal(r.successUrl, '/welcome');
  });

  test('review: env, formation and scripts merge key by key', () => {
    const r = resolveAppJson(manifest, 'review');
    assert.deepEqual(Object.fromEntries(Object.entries(r.env).map(([k, v]) => [k, v.value ?? v.generator])), { A: 'review', B: 'root-b', SECRET: 'secret', C: 'only-review' });
    assert.deepEqual(r.formation, { web: { quantity: 1, size: 'Basic' }, worker: { quantity: 1 } });
    assert.deepEqual(r.scripts, { postdeploy: { command: 'npm run seed:review' }, 'pr-predestroy': { command: 'npm run cleanup' } });
    assert.deepEqual(r.addons, [{ plan: 'heroku-postgresql' }]);
    assert.deepEqual(r.buildpacks, ['heroku/nodejs']);
  });

  test('test: addons and buildpacks are replaced as a whole', () => {
    const r = resolveAppJson(manifest, 'test');
    assert.deepEqual(r.addons, []);
    assert.deepEqual(r.buildpacks, ['heroku/nodejs', 'heroku/python']);
    assert.equal(r.scripts.test.command, 'npm test');
    assert.equal(r.scripts.postdeploy.command, 'npm run seed');
    assert.equal(r.successUrl, '/ok');
  });

  test('an environment the manifest does not define means the root keys', () => {
    assert.deepEqual({ ...resolveAppJson(manifest, 'staging'), environment: null }, resolveAppJson(manifest));
  });
});

describe('config vars for a new app', () => {
  const resolve = (env: unknown, environment: string | null = null) => resolveAppJson(validateAppJson({ env }).manifest, environment);
  const secret = () => 'f'.repeat(64);

  test('values, generated secrets and overrides', () => {
    const r = resolve({ PLAIN: 'a', OBJ: { value: 'b' }, TOKEN: { generator: 'secret' }, OPTIONAL: { required: false }, OVERRIDDEN: { value: 'default' } });
    assert.deepEqual(configVarsFor(r, { OVERRIDDEN: 'mine', EXTRA: 'added' }, { secret }), {
      PLAIN: 'a',
      OBJ: 'b',
      TOKEN: 'f'.repeat(64),
      OVERRIDDEN: 'mine',
      EXTRA: 'added',
    });
  });

  test('generator: secret gives 64 fresh hex characters per var and per app', () => {
    const r = resolve({ ONE: { generator: 'secret' }, TWO: { generator: 'secret' } });
    const a = configVarsFor(r);
    const b = configVarsFor(r);
    for (const value of [a.ONE, a.TWO, b.ONE]) assert.match(value, /^[0-9a-f]{64}$/);
    assert.notEqual(a.ONE, a.TWO);
    assert.notEqual(a.ONE, b.ONE);
    assert.match(generateSecret(), /^[0-9a-f]{64}$/);
  });

  test('an override replaces a generated secret', () => {
    assert.deepEqual(configVarsFor(resolve({ TOKEN: { generator: 'secret' } }), { TOKEN: 'given' }), { TOKEN: 'given' });
  });

  test('required vars without a value are all named, with what to pass', () => {
    const r = resolve({ DATABASE_URL: { description: 'where the data lives' }, API_KEY: { required: true }, FINE: 'x', OPTIONAL: { required: false } });
    assert.throws(() => configVarsFor(r), (err: unknown) => {
      assert.ok(err instanceof AppJsonError);
      assert.deepEqual(err.errors, [
        'app.json: env.DATABASE_URL is required and has no value (where the data lives); give it one with overrides.env',
        'app.json: env.API_KEY is required and has no value; give it one with overrides.env',
      ]);
      return true;
    });
    assert.throws(() => configVarsFor(r, { DATABASE_URL: 'postgres://x' }, { howToPass: '--env KEY=VALUE' }), /env\.API_KEY is required and has no value; give it one with --env KEY=VALUE/);
    assert.deepEqual(configVarsFor(r, { DATABASE_URL: 'postgres://x', API_KEY: 'k' }), { FINE: 'x', DATABASE_URL: 'postgres://x', API_KEY: 'k' });
  });

  test('bad overrides are named', () => {
    assert.throws(() => configVarsFor(resolve({}), { 'BAD KEY': 'x', NUM: 5 }), (err: unknown) => {
      assert.deepEqual((err as AppJsonError).errors, [
        'app.json: the override "BAD KEY" is not a valid config var name; use letters, digits and underscores, not starting with a digit',
        'app.json: the override for NUM must be a string, not a number',
      ]);
      return true;
    });
  });

  test('a review environment can make a required var optional or give it a value', () => {
    const r = resolve({ SENTRY_DSN: { description: 'error reporting' } });
    assert.throws(() => configVarsFor(r), /SENTRY_DSN is required/);
    const { manifest } = validateAppJson({ env: { SENTRY_DSN: {} }, environments: { review: { env: { SENTRY_DSN: { required: false } } }, test: { env: { SENTRY_DSN: 'none' } } } });
    assert.deepEqual(configVarsFor(resolveAppJson(manifest, 'review')), {});
    assert.deepEqual(configVarsFor(resolveAppJson(manifest, 'test')), { SENTRY_DSN: 'none' });
  });
});
