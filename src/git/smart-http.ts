/**
 * git's smart HTTP protocol (the part `git http-backend` implements), served by spawning
 * `git upload-pack` / `git receive-pack --stateless-rpc` per request and streaming both ways.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPlatformError } from '../core/errors.js';
import { validateAppName } from '../core/names.js';
import { cleanGitEnv, ensureAppRepo, ensureProjectRepo, settleHead } from './repos.js';
import { HOOK_ROUTE, PUSH_RULES_ENV } from './hook-protocol.js';
import { protectsAnything } from '../projects/push-rules.js';
import type { PushSession, PushSessions } from './push-sessions.js';
import type { GitAccount, GitRoutesOptions } from './types.js';

const SERVICES = ['git-upload-pack', 'git-receive-pack'] as const;
type Service = (typeof SERVICES)[number];

const HOOK_SCRIPT = fileURLToPath(new URL('./hook-main.js', import.meta.url));

// Same headers git http-backend sends: proxies must never cache ref advertisements.
const NO_CACHE = {
  'cache-control': 'no-cache, max-age=0, must-revalidate',
  pragma: 'no-cache',
  expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
};

interface Access {
  account: GitAccount;
  appName: string;
  dir: string;
  kind: 'app' | 'project';
}

interface RepoParams {
  repo: string;
}

/** git prints a text/plain error body line by line as `remote: …`, so errors say what to do there. */
function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).header('content-type', 'text/plain; charset=utf-8').headers(NO_CACHE).send(`${text}\n`);
}

function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  return password || undefined;
}

function pktLine(text: string): string {
  return (text.length + 4).toString(16).padStart(4, '0') + text;
}

/** Authenticates, authorizes and makes sure the repository exists; replies itself when it cannot. */
async function checkAccess(
  request: FastifyRequest,
  reply: FastifyReply,
  options: GitRoutesOptions,
): Promise<Access | undefined> {
  const key = basicPassword(request.headers.authorization);
  const account = key ? await options.authenticate(key) : null;
  if (!account) {
    reply.header('www-authenticate', 'Basic realm="Slipway"');
    sendText(
      reply,
      401,
      key
        ? 'Invalid credentials: use any username and a valid Slipway API key as the password (`slipway auth:token` prints yours).'
        : 'Authentication required: use any username and your Slipway API key as the password (`slipway auth:token` prints yours).',
    );
    return undefined;
  }
  const raw = (request.params as RepoParams).repo;
  const appName = raw.endsWith('.git') ? raw.slice(0, -4) : raw;
  let kind: Access['kind'] = 'app';
  try {
    validateAppName(appName);
    // Apps and CI projects share the /<name>.git URL space (a name is never both).
    if (options.projects && (await options.projects.authorize(account, appName))) kind = 'project';
    else await options.authorize(account, appName);
  } catch (err) {
    if (isPlatformError(err) && (err.status === 404 || err.status === 422)) {
      sendText(reply, 404, `Couldn't find that app. Create it first with: slipway apps:create ${appName}`);
    } else if (isPlatformError(err) && err.status === 403) {
      sendText(reply, 403, err.message.includes('project') ? err.message : `You do not have access to the app ${appName}.`);
    } else if (isPlatformError(err)) {
      sendText(reply, err.status, err.message);
    } else {
      request.log.error({ err, appName }, 'git: authorizing a request failed');
      sendText(reply, 500, 'Slipway could not check your access to this app because of an internal error; try again.');
    }
    return undefined;
  }
  // Apps made before git was wired in (or whose repo was removed) get one on first use.
  const dir = kind === 'project' ? await ensureProjectRepo(options.reposDir, appName) : await ensureAppRepo(options.reposDir, appName);
  return { account, appName, dir, kind };
}

function gitEnv(request: FastifyRequest, service: Service): NodeJS.ProcessEnv {
  const env = cleanGitEnv();
  // Protocol v2 is only spoken by upload-pack; pass the client's wish on like http-backend does.
  const protocol = request.headers['git-protocol'];
  if (service === 'git-upload-pack' && typeof protocol === 'string' && /^[A-Za-z0-9=:.,_-]+$/.test(protocol)) {
    env.GIT_PROTOCOL = protocol;
  }
  return env;
}

function runToBuffer(args: string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()).length > 8192 && (err = err.slice(-8192)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args.join(' ')} exited with ${code}: ${err.trim()}`));
    });
  });
}

export function registerSmartHttp(scope: FastifyInstance, options: GitRoutesOptions, sessions: PushSessions): void {
  // Request bodies stay raw streams: packs can be large, and git may gzip them.
  scope.addContentTypeParser(
    ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'],
    (_request, payload, done) => done(null, payload),
  );

  scope.get('/:repo/info/refs', async (request, reply) => {
    const service = (request.query as { service?: string }).service as Service | undefined;
    if (!service || !SERVICES.includes(service)) {
      return sendText(reply, 400, 'Slipway serves git over smart HTTP only: use git 1.6.6 or newer.');
    }
    const access = await checkAccess(request, reply, options);
    if (!access) return reply;
    const env = gitEnv(request, service);
    const refs = await runToBuffer([service.slice(4), '--stateless-rpc', '--advertise-refs', access.dir], env);
    // Protocol v2 starts with its own capability advertisement, without the service line.
    const header = env.GIT_PROTOCOL?.includes('version=2') ? '' : `${pktLine(`# service=${service}\n`)}0000`;
    return reply
      .code(200)
      .headers(NO_CACHE)
      .header('content-type', `application/x-${service}-advertisement`)
      .send(Buffer.concat([Buffer.from(header), refs]));
  });

  for (const service of SERVICES) {
    scope.post(`/:repo/${service}`, async (request, reply) => {
      const access = await checkAccess(request, reply, options);
      if (!access) return reply;
      const extraEnv: NodeJS.ProcessEnv = {};
      if (service === 'git-receive-pack' && access.kind === 'project' && options.projects?.pushRules) {
        try {
          const rules = await options.projects.pushRules(access.appName);
          if (protectsAnything(rules)) extraEnv[PUSH_RULES_ENV] = JSON.stringify(rules);
        } catch (err) {
          // Never let a push past protection that could not be read.
          request.log.error({ err, project: access.appName }, 'git: reading the protected refs failed');
          return sendText(reply, 500, 'Slipway could not read the protected branches of this project because of an internal error; try again.');
        }
      }
      return serviceRpc(request, reply, service, access, options, sessions, extraEnv);
    });
  }
}

function serviceRpc(
  request: FastifyRequest,
  reply: FastifyReply,
  service: Service,
  access: Access,
  options: GitRoutesOptions,
  sessions: PushSessions,
  extraEnv: NodeJS.ProcessEnv = {},
): FastifyReply {
  const env = { ...gitEnv(request, service), ...extraEnv };
  let session: PushSession | undefined;
  if (service === 'git-receive-pack') {
    session = sessions.open(access.account, access.appName, access.kind, access.dir);
    Object.assign(env, {
      SLIPWAY_HOOK_URL: `${options.internalUrl().replace(/\/+$/, '')}${HOOK_ROUTE}`,
      SLIPWAY_PUSH_TOKEN: session.token,
      SLIPWAY_HOOK_SCRIPT: HOOK_SCRIPT,
      SLIPWAY_NODE: process.execPath,
    });
  }
  const child = spawn('git', [service.slice(4), '--stateless-rpc', access.dir], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
  child.on('error', (err) => request.log.error({ err }, `git: could not start ${service}`));
  child.on('close', (code, signal) => {
    if (session) sessions.close(session);
    if (code !== 0) request.log.warn({ app: access.appName, code, signal, stderr: stderr.trim() }, `git: ${service} failed`);
    if (service === 'git-receive-pack') {
      settleHead(access.dir).catch((err) => request.log.error({ err }, 'git: could not update HEAD after a push'));
    }
  });

  const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase();
  const body = request.body as Readable;
  const gzipped = encoding === 'gzip' || encoding === 'x-gzip';
  const upload = gzipped ? pipeline(body, createGunzip(), child.stdin) : pipeline(body, child.stdin);
  upload.catch((err) => {
    // A broken upload (or bad gzip) leaves git with a truncated request: it fails on its own.
    request.log.warn({ err, app: access.appName }, `git: reading the ${service} request failed`);
    child.stdin.destroy();
  });

  // Relay through a PassThrough so that a hang-up does not close git's stdout: receive-pack
  // must live on to see the hook fail and remove its quarantined objects.
  const output = new PassThrough();
  child.stdout.pipe(output);

  // The pusher hanging up (Ctrl-C during a build) aborts the build through the session.
  reply.raw.on('close', () => {
    if (reply.raw.writableFinished) return;
    session?.controller.abort(new Error('The pusher disconnected.'));
    child.stdout.unpipe(output);
    child.stdout.resume();
    child.stdin.destroy();
    // receive-pack normally ends once the hook gives up; never leave it running for ever.
    setTimeout(() => child.exitCode === null && child.kill('SIGTERM'), 120_000).unref();
  });

  return reply
    .code(200)
    .headers(NO_CACHE)
    .header('content-type', `application/x-${service}-result`)
    .send(output);
}
