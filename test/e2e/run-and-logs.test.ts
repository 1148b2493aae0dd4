import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startSlipway, waitFor, type Slipway } from '../helpers/slipway.js';
import { deployExample, recentLogs, viaRouter } from '../helpers/flow.js';

let s: Slipway;
let ca: string;
/** Set in Slipway's own environment only: no dyno may see it. */
const SERVER_SECRET = `server-secret-${randomBytes(8).toString('hex')}`;
before(async () => {
  s = await startSlipway({ SLIPWAY_TEST_SERVER_SECRET: SERVER_SECRET });
  const { push } = await deployExample(s, 'runner', 'node-app');
  assert.equal(push.code, 0, push.stderr);
  ca = await fetch(`${s.url}/ca.pem`).then((r) => r.text());
});
after(async () => {
  await s?.destroy();
});

/** Speaks the rendezvous protocol as the heroku CLI does: secret line, drop first chunk, then I/O. */
function rendezvous(attachUrl: string, stdin?: string): Promise<string> {
  const url = new URL(attachUrl);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca, servername: url.hostname === '127.0.0.1' ? undefined : url.hostname }, () => {
      socket.write(`${url.pathname.slice(1)}${url.search}\r\n`);
    });
    let first = true;
    let output = '';
    socket.on('data', (chunk) => {
      if (first) {
        first = false;
        if (stdin !== undefined) socket.write(`${stdin}\u0004`);
        return;
      }
      output += chunk.toString();
    });
    socket.on('end', () => resolve(output));
    socket.on('error', reject);
  });
}

test('an attached one-off dyno streams output and reports the exit status over TLS rendezvous', async () => {
  const res = await s.api('POST', '/apps/runner/dynos', {
    command: 'echo "hello from $DYNO in $(pwd)"; exit 3; echo "\uFFFF heroku-command-exit-status: $?"',
    attach: true,
    env: { TERM: 'dumb' },
  });
  assert.equal(res.status, 201, res.text);
  assert.match(res.body.attach_url, new RegExp(`^rendezvous://127\\.0\\.0\\.1:${s.httpsPort}/`));
  const output = await rendezvous(res.body.attach_url);
  assert.match(output, /hello from run\.\d+ in \/app/);

  const withStatus = await s.api('POST', '/apps/runner/dynos', { command: 'sh -c "exit 4"; echo "\uFFFF heroku-command-exit-status: $?"', attach: true });
  const statusOut = await rendezvous(withStatus.body.attach_url);
  assert.match(statusOut, /\uFFFF heroku-command-exit-status: 4/);
});

test('stdin reaches an attached one-off dyno until EOT', async () => {
  const res = await s.api('POST', '/apps/runner/dynos', { command: 'tr a-z A-Z', attach: true });
  const output = await rendezvous(res.body.attach_url, 'shout this\n');
  assert.match(output, /SHOUT THIS/);
});

test('a rendezvous secret works once; unknown secrets are refused', async () => {
  const output = await rendezvous(`rendezvous://127.0.0.1:${s.httpsPort}/not-a-secret`).catch((e) => String(e));
  assert.doesNotMatch(output, /hello/);
});

test('the HTTPS port serves the API and apps with the CA Slipway created', async () => {
  const res = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: s.httpsPort, ca }, () => {
      socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (c) => (text += c));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(res, /^HTTP\/1\.1 200/);
  assert.match(res, /"status":"ok"/);
});

test('logs --tail follows new lines live and resumes with Last-Event-ID', async () => {
  const session = await s.api('POST', '/apps/runner/log-sessions', { tail: true, lines: 1, dyno: 'router' });
  assert.equal(session.status, 201);
  const controller = new AbortController();
  const res = await fetch(session.body.logplex_url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const marker = `/tail-check-${Date.now()}`;
  await viaRouter(s, 'runner', marker);
  await waitFor('the router line in the live stream', async () => {
    const { value } = await reader.read();
    text += Buffer.from(value ?? new Uint8Array()).toString();
    return text.includes(marker);
  });
  controller.abort();
  assert.doesNotMatch(text, /app\[web\.1\]/, 'the dyno filter applies');
  const lastId = Number(/id: (\d+)\n(?!.*id: )/s.exec(text)?.[1] ?? /id: (\d+)/.exec(text)![1]);

  const marker2 = `/after-disconnect-${Date.now()}`;
  await viaRouter(s, 'runner', marker2);
  const resumed = new AbortController();
  const again = await fetch(session.body.logplex_url, { headers: { 'Last-Event-ID': String(lastId) }, signal: resumed.signal });
  const reader2 = again.body!.getReader();
  let text2 = '';
  await waitFor('the line missed while disconnected', async () => {
    const { value } = await reader2.read();
    text2 += Buffer.from(value ?? new Uint8Array()).toString();
    return text2.includes(marker2);
  });
  resumed.abort();
  assert.ok(!text2.includes(marker), 'lines already seen are not sent again');
});

test('maintenance mode answers 503 from the router without reaching the dynos', async () => {
  const on = await s.api('PATCH', '/apps/runner', { maintenance: true });
  assert.equal(on.body.maintenance, true);
  await waitFor('maintenance page', async () => (await viaRouter(s, 'runner')).status === 503);
  const page = await viaRouter(s, 'runner');
  assert.match(page.body, /maintenance/i);
  await s.api('PATCH', '/apps/runner', { maintenance: false });
  await waitFor('app back', async () => (await viaRouter(s, 'runner')).status === 200);
});

/** Every process on this host whose command line contains `text`, as a local user could list them. */
function commandLinesWith(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (args.includes(text)) found.push(`${pid}: ${args.replaceAll('\0', ' ')}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test("config vars reach dynos and one-off dynos through their environment, never a command line; Slipway's own environment stays out", async () => {
  const secret = `dyno-secret-${randomBytes(8).toString('hex')}`;
  const set = await s.api('PATCH', '/apps/runner/config-vars', { API_SECRET: secret });
  assert.equal(set.status, 200, set.text);
  await waitFor('the web dyno to see the secret', async () => (await viaRouter(s, 'runner', '/config/API_SECRET')).body === secret, 60_000, 200);
  assert.deepEqual(commandLinesWith(secret), []);
  // Slipway's own variables (its bootstrap key, a database URL, anything else) are not the dyno's.
  for (const name of ['SLIPWAY_TEST_SERVER_SECRET', 'SLIPWAY_BOOTSTRAP_API_KEY', 'SLIPWAY_DATA', 'DATABASE_URL']) {
    assert.equal((await viaRouter(s, 'runner', `/config/${name}`)).status, 404, `${name} leaked into the dyno`);
  }

  // A one-off dyno: the release's config plus `run -e` variables, again only in its environment.
  const extra = `one-off-secret-${randomBytes(8).toString('hex')}`;
  const command = 'echo "one-off sees ${#API_SECRET} ${#RUN_SECRET} ${#SLIPWAY_TEST_SERVER_SECRET}"; sleep 60';
  const run = await s.api('POST', '/apps/runner/dynos', { command, attach: false, env: { RUN_SECRET: extra } });
  assert.equal(run.status, 201, run.text);
  // The output line, not the "Starting process with command …" line that quotes the script.
  await waitFor('the one-off output', async () => /one-off sees \d+ \d+ \d+/.test(await recentLogs(s, 'runner', 200, { dyno: run.body.name })), 30_000, 200);
  const logs = await recentLogs(s, 'runner', 200, { dyno: run.body.name });
  assert.match(logs, new RegExp(`one-off sees ${secret.length} ${extra.length} 0`));
  assert.deepEqual(commandLinesWith(secret), []);
  assert.deepEqual(commandLinesWith(extra), []);
  assert.equal((await s.api('POST', `/apps/runner/dynos/${run.body.name}/actions/stop`)).status, 202);
});
