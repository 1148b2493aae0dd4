import type { FastifyReply, FastifyRequest } from 'fastify';
import { paginate, parseRange } from './range.js';

/** Sends a list honouring the request's Range header (206 + Next-Range when truncated). */
export function sendList<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  items: T[],
  options: { defaultField: string; fields: Record<string, (item: T) => string | number> },
): unknown {
  const allowed = Object.keys(options.fields);
  const spec = parseRange(request.headers.range, options.defaultField, allowed);
  const page = paginate(items, spec, (item, field) => (options.fields[field] ?? options.fields[options.defaultField])(item));
  reply.code(page.status);
  if (page.nextRange) reply.header('Next-Range', page.nextRange);
  reply.header('Accept-Ranges', allowed.join(', '));
  return page.items;
}
