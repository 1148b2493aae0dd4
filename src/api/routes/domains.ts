import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';

export function domainRoutes(_app: FastifyInstance, _deps: ApiDeps): void {
  // Routes for domains land here.
}
