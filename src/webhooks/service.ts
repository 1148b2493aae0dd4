import type { Kysely } from 'kysely';
import type { Database, AppWebhookDeliveryRow, AppWebhookEventRow, AppWebhookRow } from '../store/schema.js';
import type { EventBus } from '../core/events.js';
import type { LogHub } from '../logs/log-hub.js';
import { isUuid } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';
import { WebhookSubscriptions } from './subscriptions.js';
import { DeliveryDispatcher, DEFAULT_RETRY_POLICY, type RetryPolicy } from './dispatcher.js';
import { WebhookRecorder } from './recorder.js';
import type { WebhookResourceSource } from './contract.js';

export interface WebhookServiceOptions {
  db: Kysely<Database>;
  events: EventBus;
  logs: LogHub;
  retryPolicy?: RetryPolicy;
}

export interface DeliveryView extends AppWebhookDeliveryRow {
  include: string;
  level: string;
}

const DELIVERY_STATUSES = ['pending', 'scheduled', 'retrying', 'failed', 'succeeded'];

/**
 * App webhooks: subscriptions (CRUD), the events recorded for them and their deliveries.
 * Sending is the dispatcher's job; turning domain events into webhook events the recorder's.
 */
export class WebhookService {
  readonly subscriptions: WebhookSubscriptions;
  private readonly dispatcher: DeliveryDispatcher;
  private readonly recorder: WebhookRecorder;

  constructor(private readonly o: WebhookServiceOptions) {
    this.subscriptions = new WebhookSubscriptions(o.db);
    this.dispatcher = new DeliveryDispatcher(o.db, o.logs, o.retryPolicy ?? DEFAULT_RETRY_POLICY);
    this.recorder = new WebhookRecorder(o.db, this.subscriptions, this.dispatcher);
    this.recorder.listen(o.events);
  }

  /** Where the API view of resources comes from (plugged in by the composition root). */
  setResourceSource(source: WebhookResourceSource): void {
    this.recorder.setSource(source);
  }

  /** Sends the deliveries that were not finished when Slipway stopped. */
  resume(): Promise<number> {
    return this.dispatcher.resume();
  }

  close(): void {
    this.recorder.close();
    this.dispatcher.close();
  }

  list(appId: string): Promise<AppWebhookRow[]> {
    return this.subscriptions.list(appId);
  }

  get(appId: string, id: string): Promise<AppWebhookRow> {
    return this.subscriptions.get(appId, id);
  }

  create(appId: string, input: Parameters<WebhookSubscriptions['create']>[1]) {
    return this.subscriptions.create(appId, input);
  }

  update(appId: string, id: string, input: Parameters<WebhookSubscriptions['update']>[2]) {
    return this.subscriptions.update(appId, id, input);
  }

  remove(appId: string, id: string): Promise<AppWebhookRow> {
    return this.subscriptions.remove(appId, id);
  }

  async events(appId: string): Promise<AppWebhookEventRow[]> {
    return this.o.db.selectFrom('app_webhook_events').selectAll().where('app_id', '=', appId).orderBy('seq').execute();
  }

  async event(appId: string, id: string): Promise<AppWebhookEventRow> {
    const row = isUuid(id) ? await this.o.db.selectFrom('app_webhook_events').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('app-webhook-event', `Couldn't find webhook event ${id}.`);
    return row;
  }

  async deliveries(appId: string, status?: string): Promise<DeliveryView[]> {
    if (status !== undefined && !DELIVERY_STATUSES.includes(status)) throw invalidParams(`status must be one of ${DELIVERY_STATUSES.join(', ')}.`);
    let query = this.deliveryQuery().where('d.app_id', '=', appId);
    if (status !== undefined) query = query.where('d.status', '=', status);
    return query.orderBy('d.seq').execute();
  }

  async delivery(appId: string, id: string): Promise<DeliveryView> {
    const row = isUuid(id) ? await this.deliveryQuery().where('d.app_id', '=', appId).where('d.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('app-webhook-delivery', `Couldn't find webhook delivery ${id}.`);
    return row;
  }

  private deliveryQuery() {
    return this.o.db
      .selectFrom('app_webhook_deliveries as d')
      .innerJoin('app_webhook_events as e', 'e.id', 'd.event_id')
      .innerJoin('app_webhooks as w', 'w.id', 'd.webhook_id')
      .selectAll('d')
      .select(['e.include as include', 'w.level as level']);
  }
}
