import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';

export function collaboratorRoutes(_app: FastifyInstance, _deps: ApiDeps): void {
  // Routes for collaborators land here.
}
