import type { FastifyInstance } from 'fastify';
import type { AppRow, AppWebhookEventRow, AppWebhookRow } from '../../store/schema.js';
import type { ApiDeps } from '../context.js';
import { appOf } from '../context.js';
import { sendList } from '../respond.js';
import type { DeliveryView } from '../../webhooks/service.js';

/** The webhook as the API shows it: never its secret nor its Authorization value. */
export function webhookJson(webhook: AppWebhookRow, app: Pick<AppRow, 'id' | 'name'>) {
  return {
    app: { id: app.id, name: app.name },
    created_at: webhook.created_at,
    id: webhook.id,
    include: JSON.parse(webhook.include) as string[],
    level: webhook.level,
    updated_at: webhook.updated_at,
    url: webhook.url,
  };
}

export function deliveryJson(d: DeliveryView) {
  return {
    created_at: d.created_at,
    event: { id: d.event_id, include: d.include },
    id: d.id,
    num_attempts: d.num_attempts,
    next_attempt_at: d.next_attempt_at,
    last_attempt: d.last_attempt ? JSON.parse(d.last_attempt) : null,
    status: d.status,
    updated_at: d.updated_at,
    webhook: { id: d.webhook_id, level: d.level },
  };
}

export function eventJson(e: AppWebhookEventRow) {
  return {
    created_at: e.created_at,
    id: e.id,
    include: e.include,
    payload: JSON.parse(e.payload) as Record<string, unknown>,
    updated_at: e.updated_at,
  };
}

export function webhookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/apps/:app/webhooks', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const list = (await deps.webhooks.list(row.id)).map((w) => webhookJson(w, row));
    return sendList(request, reply, list, { defaultField: 'id', fields: { id: (w) => w.id, created_at: (w) => w.created_at } });
  });

  // The only response that carries the secret: the Heroku-Webhook-Secret header of the create.
  app.post('/apps/:app/webhooks', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const { webhook, secret } = await deps.webhooks.create(row.id, (request.body ?? {}) as Record<string, unknown>);
    reply.header('Heroku-Webhook-Secret', secret);
    reply.code(201);
    return webhookJson(webhook, row);
  });

  app.get('/apps/:app/webhooks/:webhook', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { webhook } = request.params as { webhook: string };
    return webhookJson(await deps.webhooks.get(row.id, webhook), row);
  });

  app.patch('/apps/:app/webhooks/:webhook', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { webhook } = request.params as { webhook: string };
    return webhookJson(await deps.webhooks.update(row.id, webhook, (request.body ?? {}) as Record<string, unknown>), row);
  });

  app.delete('/apps/:app/webhooks/:webhook', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { webhook } = request.params as { webhook: string };
    return webhookJson(await deps.webhooks.remove(row.id, webhook), row);
  });

  // `heroku webhooks:deliveries` sends `Range: seq ..; order=desc,max=1000` and `?eq[status]=…`.
  app.get('/apps/:app/webhook-deliveries', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const query = request.query as Record<string, unknown>;
    const status = query['eq[status]'] ?? (query.eq as Record<string, unknown> | undefined)?.status;
    const rows = await deps.webhooks.deliveries(row.id, typeof status === 'string' ? status : undefined);
    const page = sendList(request, reply, rows, { defaultField: 'seq', fields: { seq: (d) => d.seq, id: (d) => d.id, created_at: (d) => d.created_at } }) as DeliveryView[];
    return page.map(deliveryJson);
  });

  app.get('/apps/:app/webhook-deliveries/:delivery', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { delivery } = request.params as { delivery: string };
    return deliveryJson(await deps.webhooks.delivery(row.id, delivery));
  });

  app.get('/apps/:app/webhook-events', async (request, reply) => {
    const { app: row } = await appOf(deps, request);
    const rows = await deps.webhooks.events(row.id);
    const page = sendList(request, reply, rows, { defaultField: 'seq', fields: { seq: (e) => e.seq, id: (e) => e.id, created_at: (e) => e.created_at } }) as AppWebhookEventRow[];
    return page.map(eventJson);
  });

  app.get('/apps/:app/webhook-events/:event', async (request) => {
    const { app: row } = await appOf(deps, request);
    const { event } = request.params as { event: string };
    return eventJson(await deps.webhooks.event(row.id, event));
  });
}
