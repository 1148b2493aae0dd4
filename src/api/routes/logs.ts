import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { formatLogLine, matchesFilter, type LogFilter, type LogLine } from '../../logs/log-hub.js';
import { newId, newSecret, now } from '../../core/ids.js';
import { invalidParams, notFound } from '../../core/errors.js';

interface LogSession {
  appId: string;
  lines: number;
  tail: boolean;
  filter: LogFilter;
  expiresAt: number;
}

const SESSION_TTL_MS = 5 * 60_000;
const HEARTBEAT_MS = 15_000;

/**
 * Log sessions: `POST /apps/{app}/log-sessions` hands out a capability URL that serves the
 * app's log lines as Server-Sent Events (what the heroku CLI's EventSource expects).
 */
export function logRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const sessions = new Map<string, LogSession>();

  app.post('/apps/:app/log-sessions', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const body = (request.body ?? {}) as { lines?: unknown; tail?: unknown; source?: unknown; dyno?: unknown; type?: unknown };
    const lines = body.lines === undefined || body.lines === null ? 100 : Number(body.lines);
    if (!Number.isInteger(lines) || lines < 0 || lines > 1500) throw invalidParams('lines must be a whole number from 0 to 1500.');
    const dyno = typeof body.dyno === 'string' ? body.dyno : typeof body.type === 'string' ? body.type : undefined;
    const source = typeof body.source === 'string' ? body.source : undefined;
    const token = newSecret(24);
    for (const [key, s] of sessions) if (s.expiresAt < Date.now()) sessions.delete(key);
    sessions.set(token, { appId: row.id, lines, tail: body.tail === true, filter: { dyno, source }, expiresAt: Date.now() + SESSION_TTL_MS });
    const stamp = now();
    reply.code(201);
    return { created_at: stamp, id: newId(), logplex_url: `${deps.urls.http}/streams/logs/${token}`, updated_at: stamp };
  });

  app.get('/streams/logs/:token', async (request, reply) => {
    const { token } = request.params as { token: string };
    const session = sessions.get(token);
    if (!session || session.expiresAt < Date.now()) throw notFound('log-session', 'This log session has expired; start `logs` again.');
    const lastEventId = Number(request.headers['last-event-id'] ?? NaN);
    reply.hijack();
    const res = reply.raw;
    // A hijacked reply skips Fastify's headers, so the onRequest Request-Id is repeated here.
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no', 'Request-Id': request.id });
    // Clients wait for the headers before they consider the stream open.
    res.flushHeaders();
    const send = (line: LogLine) => res.write(`id: ${line.id}\ndata: ${formatLogLine(line)}\n\n`);
    const backlog = Number.isFinite(lastEventId)
      ? deps.logs.since(session.appId, lastEventId, session.filter)
      : deps.logs.recent(session.appId, session.lines, session.filter);
    for (const line of backlog) send(line);
    if (!session.tail) {
      res.end();
      return;
    }
    // Tailing keeps the session alive for reconnects (Last-Event-ID) while someone listens.
    session.expiresAt = Number.MAX_SAFE_INTEGER;
    const unsubscribe = deps.logs.subscribe(session.appId, (line) => {
      if (matchesFilter(line, session.filter)) send(line);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      session.expiresAt = Date.now() + SESSION_TTL_MS;
    });
  });
}
