import type { FastifyInstance } from 'fastify';
import { registerHookEndpoint } from './hook-endpoint.js';
import { registerPostReceive } from './post-receive.js';
import { PushSessions } from './push-sessions.js';
import { registerSmartHttp } from './smart-http.js';
import type { GitRoutesOptions } from './types.js';

/**
 * Serves app repositories over git's smart HTTP protocol and the internal route their
 * pre-receive hook deploys through. Runs in its own encapsulated plugin, so the raw-stream
 * body parsers it registers do not affect the rest of the server.
 */
export function registerGitRoutes(app: FastifyInstance, options: GitRoutesOptions): void {
  const sessions = new PushSessions();
  app.register(async (scope) => {
    registerSmartHttp(scope, options, sessions);
    registerHookEndpoint(scope, options, sessions);
    registerPostReceive(scope, options, sessions);
  });
}
