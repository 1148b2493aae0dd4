import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';

export function webhookRoutes(_app: FastifyInstance, _deps: ApiDeps): void {
  // Routes for webhooks land here.
}
