/**
 * The internal route the pre-receive hook calls: it uploads the pushed commit as a tar, the
 * server runs onPush, and the response streams build output back as JSON lines, ending with
 * the verdict. Only a live one-time push token opens it; anything else is a plain 404.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isPlatformError } from '../core/errors.js';
import type { PushSession, PushSessions } from './push-sessions.js';
import type { GitRoutesOptions, PushResult } from './types.js';
import { ARCHIVE_TYPE, DEPLOY_REFS, HOOK_ROUTE, TOKEN_HEADER, type HookMessage } from './hook-protocol.js';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('Not found\n');
}

export function registerHookEndpoint(scope: FastifyInstance, options: GitRoutesOptions, sessions: PushSessions): void {
  scope.addContentTypeParser(ARCHIVE_TYPE, (_request, payload, done) => done(null, payload));

  const claimed = new WeakMap<object, PushSession>();
  scope.post(HOOK_ROUTE, {
    // Checked before the body is parsed, so a bad token never gets past a 404 (not even a 415).
    onRequest: async (request, reply) => {
      const session = sessions.claim(request.headers[TOKEN_HEADER]);
      if (!session || session.kind !== 'app') return notFound(reply);
      claimed.set(request, session);
    },
    handler: async (request, reply) => {
      const session = claimed.get(request);
      if (!session) return notFound(reply);
      const query = request.query as { ref?: string; old?: string; new?: string };
      const ref = query.ref ?? '';
      const oldSha = query.old ?? '';
      const newSha = query.new ?? '';
      if (!DEPLOY_REFS.includes(ref) || !SHA.test(oldSha) || !SHA.test(newSha)) {
        return reply.code(400).header('content-type', 'text/plain').send('Expected ref=main|master, old=<sha>, new=<sha>.\n');
      }

      const tmp = await mkdtemp(join(tmpdir(), 'slipway-push-'));
      const archivePath = join(tmp, 'source.tar');
      try {
        await pipeline(request.body as Readable, createWriteStream(archivePath));
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        request.log.warn({ err, app: session.appName }, 'git: the hook did not upload a complete archive');
        return reply.code(400).header('content-type', 'text/plain').send('The source archive was incomplete.\n');
      }

      const { signal } = session.controller;
      const stream = new PassThrough();
      let settled = false;
      const send = (message: HookMessage) => stream.write(`${JSON.stringify(message)}\n`);
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) session.controller.abort(new Error('The git hook disconnected.'));
      });

      const run = async (): Promise<PushResult> => {
        try {
          return await options.onPush({
            appName: session.appName,
            account: session.account,
            ref,
            oldSha,
            newSha,
            archivePath,
            signal,
            out(line: string) {
              if (settled) return;
              for (const part of String(line).replace(/\r?\n$/, '').split(/\r?\n/)) send({ out: part });
            },
          });
        } catch (err) {
          if (isPlatformError(err)) return { ok: false, message: err.message };
          request.log.error({ err, app: session.appName }, 'git: onPush failed');
          return { ok: false, message: 'Deploy failed because of an internal error in Slipway; the server log has details.' };
        } finally {
          settled = true;
          await rm(tmp, { recursive: true, force: true });
        }
      };
      void run().then((result) => {
        send({ ok: result.ok === true, message: result.message });
        stream.end();
      });

      return reply
        .code(200)
        .header('content-type', 'application/x-ndjson')
        .header('cache-control', 'no-cache')
        .send(stream);
    },
  });
}
