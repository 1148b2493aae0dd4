// Pipeline trigger tokens, as GitLab's: an outside system runs a ref's pipeline with a token
// (no API key), as a JSON body, a urlencoded or multipart form, or query parameters, also at
// GitLab's /api/v4 path. CI_PIPELINE_SOURCE=trigger, CI_PIPELINE_TRIGGERED=true, variables
// passed along. Real server, real pushes, real shell jobs, the real CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSlipway, type Slipway } from '../helpers/slipway.js';
import { adminCli } from '../helpers/flow.js';
import { ProjectRepo } from '../helpers/project-repo.js';

let s: Slipway;
let p: ProjectRepo;

const CI = [
  'triggered:',
  '  script: echo "source=$CI_PIPELINE_SOURCE triggered=$CI_PIPELINE_TRIGGERED ref=$CI_COMMIT_REF_NAME target=$TARGET"',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "trigger"',
  'build:',
  '  script: echo build',
  '',
].join('\n');

before(async () => {
  s = await startSlipway();
  p = await ProjectRepo.create(s, 'triggered');
  await p.commit({ '.gitlab-ci.yml': CI });
  await p.push('main');
  await p.finishedPipeline('the push pipeline', (x) => x.source === 'push');
});

after(async () => {
  await s?.destroy();
});

const cli = (...args: string[]) => adminCli(s, ...args);

async function makeToken(description: string): Promise<{ id: number; token: string }> {
  const made = await cli('ci:triggers:create', '-p', p.name, '-d', description);
  assert.equal(made.code, 0, made.stderr);
  const token = /^(glptt-\S+)$/m.exec(made.stdout)?.[1];
  const id = Number(/Created trigger token (\d+)/.exec(made.stdout)?.[1]);
  assert.ok(token && id, made.stdout);
  assert.match(made.stdout, /curl -X POST -F token=TOKEN -F ref=main/);
  return { id, token };
}

/** A POST with no API key, as an outside system sends it. */
const post = (path: string, init: RequestInit = {}) => fetch(`${s.url}${path}`, { method: 'POST', ...init });

test('a trigger token runs a pipeline from a multipart form, a urlencoded form, JSON and the query string; the value is shown once', async () => {
  const { token } = await makeToken('docs rebuild');
  const listed = await cli('ci:triggers', '-p', p.name);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /docs rebuild\s+\*{8}\S{4}\s+\S+@\S+\s+never used/);
  assert.doesNotMatch(listed.stdout, new RegExp(token));
  assert.doesNotMatch((await p.api('GET', '/triggers')).text, new RegExp(token));

  const form = new FormData();
  form.set('token', token);
  form.set('ref', 'main');
  form.set('variables[TARGET]', 'multipart');
  const bodies: [string, RequestInit, string][] = [
    [`/projects/${p.name}/trigger/pipeline`, { body: form }, 'multipart'],
    [`/projects/${p.name}/trigger/pipeline`, { body: new URLSearchParams({ token, ref: 'main', 'variables[TARGET]': 'urlencoded' }) }, 'urlencoded'],
    [`/projects/${p.name}/trigger/pipeline`, { body: JSON.stringify({ token, ref: 'main', variables: { TARGET: 'json' } }), headers: { 'Content-Type': 'application/json' } }, 'json'],
    [`/api/v4/projects/${encodeURIComponent(`projects/${p.name}`)}/trigger/pipeline?token=${token}&ref=main&variables[TARGET]=query`, {}, 'query'],
  ];
  for (const [path, init, target] of bodies) {
    const res = await post(path, init);
    const body = (await res.json()) as any;
    assert.equal(res.status, 201, `${target}: ${JSON.stringify(body)}`);
    assert.equal(body.source, 'trigger');
    const pipeline = await p.finishedPipeline(`the ${target} pipeline`, (x) => x.id === body.id);
    assert.equal(pipeline.status, 'success');
    assert.deepEqual(pipeline.jobs.map((j: any) => j.name).sort(), ['build', 'triggered']);
    assert.match(await p.jobLog(pipeline, 'triggered'), new RegExp(`source=trigger triggered=true ref=main target=${target}`));
  }
  const used = await cli('ci:triggers', '-p', p.name, '--json');
  assert.ok(JSON.parse(used.stdout)[0].last_used, used.stdout);
});

test('a wrong, missing, deleted or other project\'s token is refused and runs nothing', async () => {
  const other = await ProjectRepo.create(s, 'triggered-other');
  const otherToken = ((await other.api('POST', '/triggers', { description: 'other' })).body as { token: string }).token;
  const { id, token } = await makeToken('short-lived');
  const before = ((await p.api('GET', '/pipelines')).body as any[]).length;
  const attempts: [Record<string, string>, number, RegExp][] = [
    [{ ref: 'main' }, 401, /needs its token/],
    [{ token: 'glptt-wrong', ref: 'main' }, 401, /not valid for triggered/],
    [{ token: otherToken, ref: 'main' }, 401, /not valid for triggered/],
    [{ token, ref: 'nowhere' }, 400, /has no branch or tag named nowhere/],
  ];
  for (const [fields, status, message] of attempts) {
    const res = await post(`/projects/${p.name}/trigger/pipeline`, { body: new URLSearchParams(fields) });
    const body = (await res.json()) as any;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(body.message, message);
    assert.doesNotMatch(JSON.stringify(body), new RegExp(token));
  }
  const deleted = await cli('ci:triggers:delete', String(id), '-p', p.name);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /Deleted trigger token \d+ \(short-lived\)/);
  const gone = await post(`/projects/${p.name}/trigger/pipeline`, { body: new URLSearchParams({ token, ref: 'main' }) });
  assert.equal(gone.status, 401);
  assert.equal(((await p.api('GET', '/pipelines')).body as any[]).length, before);
});
