import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';

export function pipelineRoutes(_app: FastifyInstance, _deps: ApiDeps): void {
  // Routes for pipelines land here.
}
