/**
 * The internal route a CI project's post-receive hook calls with the refs a push updated.
 * The server plans and records a pipeline per branch or tag (printing its URL, or the
 * configuration errors) and answers in the hook protocol's JSON lines; pipelines run on in
 * the background, so the push never waits for them. Only a live one-time push token opens it.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { PushSession, PushSessions } from './push-sessions.js';
import type { GitRoutesOptions } from './types.js';
import { POST_RECEIVE_ROUTE, REF_UPDATES_TYPE, TOKEN_HEADER, type HookMessage } from './hook-protocol.js';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const MAX_BODY = 1024 * 1024;

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('Not found\n');
}

async function readText(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += String(chunk);
    if (text.length > MAX_BODY) throw new Error('too many ref updates');
  }
  return text;
}

export function registerPostReceive(scope: FastifyInstance, options: GitRoutesOptions, sessions: PushSessions): void {
  scope.addContentTypeParser(REF_UPDATES_TYPE, (_request, payload, done) => done(null, payload));
  const claimed = new WeakMap<object, PushSession>();
  scope.post(POST_RECEIVE_ROUTE, {
    onRequest: async (request, reply) => {
      const session = sessions.claim(request.headers[TOKEN_HEADER]);
      if (!session || session.kind !== 'project' || !options.projects) return notFound(reply);
      claimed.set(request, session);
    },
    handler: async (request, reply) => {
      const session = claimed.get(request);
      if (!session || !options.projects) return notFound(reply);
      const updates = (await readText(request.body as Readable))
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter(([oldSha, newSha, ref]) => SHA.test(oldSha ?? '') && SHA.test(newSha ?? '') && /^refs\/[^\s]+$/.test(ref ?? ''))
        .map(([oldSha, newSha, ref]) => ({ oldSha, newSha, ref }));
      const stream = new PassThrough();
      const send = (message: HookMessage) => stream.write(`${JSON.stringify(message)}\n`);
      const projects = options.projects;
      void projects
        .onPush({
          projectName: session.appName,
          account: session.account,
          repoDir: session.repoDir,
          updates,
          out: (line) => {
            for (const part of String(line).replace(/\r?\n$/, '').split(/\r?\n/)) send({ out: part });
          },
        })
        .then(
          () => send({ ok: true }),
          (err: unknown) => {
            request.log.error({ err, project: session.appName }, 'git: recording pipelines failed');
            send({ ok: false, message: `Slipway could not record a pipeline for this push: ${(err as Error)?.message ?? String(err)}` });
          },
        )
        .finally(() => stream.end());
      return reply.code(200).header('content-type', 'application/x-ndjson').header('cache-control', 'no-cache').send(stream);
    },
  });
}
