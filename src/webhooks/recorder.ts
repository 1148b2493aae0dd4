import type { Kysely } from 'kysely';
import type { Database, AppWebhookDeliveryRow, AppWebhookEventRow } from '../store/schema.js';
import type { EventBus } from '../core/events.js';
import { newId, now } from '../core/ids.js';
import type { WebhookSubscriptions } from './subscriptions.js';
import type { DeliveryDispatcher } from './dispatcher.js';
import { PAYLOAD_VERSION, RESOURCE_OF, type EventPayload, type WebhookAction, type WebhookResourceSource, type WebhookTrigger } from './contract.js';

/** Dyno states → webhook actions. */
function dynoAction(state: string): WebhookAction {
  if (state === 'starting') return 'create';
  if (state === 'down' || state === 'complete') return 'destroy';
  return 'update';
}

/**
 * Turns domain events into webhook events: for each app event some webhook subscribes to,
 * it records the event (with the resource as the API shows it at that moment) and one
 * delivery per subscribed webhook, then hands the deliveries to the dispatcher.
 */
export class WebhookRecorder {
  private source: WebhookResourceSource | undefined;
  private lastSeq = 0;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly subscriptions: WebhookSubscriptions,
    private readonly dispatcher: DeliveryDispatcher,
  ) {}

  setSource(source: WebhookResourceSource): void {
    this.source = source;
  }

  /** Starts listening to the domain event bus. */
  listen(events: EventBus): void {
    const on = this.unsubscribe.push.bind(this.unsubscribe);
    on(events.on('release.created', (e) => this.raise({ appId: e.appId, entity: 'api:release', action: 'create', resourceId: e.releaseId })));
    on(events.on('release.updated', (e) => this.raise({ appId: e.appId, entity: 'api:release', action: 'update', resourceId: e.releaseId, previousData: { status: 'pending' } })));
    on(events.on('build.created', (e) => this.raise({ appId: e.appId, entity: 'api:build', action: 'create', resourceId: e.buildId })));
    on(events.on('build.finished', (e) => this.raise({ appId: e.appId, entity: 'api:build', action: 'update', resourceId: e.buildId, previousData: { status: 'pending' } })));
    on(events.on('dyno.state', (e) => this.raise({ appId: e.appId, entity: 'api:dyno', action: dynoAction(e.state), resourceId: e.dyno })));
    on(events.on('formation.changed', (e) => e.types.forEach((type) => this.raise({ appId: e.appId, entity: 'api:formation', action: 'update', resourceId: type }))));
    on(events.on('app.changed', (e) => this.raise({ appId: e.appId, entity: 'api:app', action: 'update', resourceId: e.appId })));
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Increasing numbers that order events and deliveries (also across restarts). */
  nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now() * 1000);
    return this.lastSeq;
  }

  private raise(trigger: WebhookTrigger): void {
    const seq = this.nextSeq();
    const stamp = now();
    void this.record(trigger, seq, stamp).catch((err) => {
      console.error(`[webhooks] could not record ${trigger.entity} ${trigger.action} for app ${trigger.appId}: ${(err as Error).message}`);
    });
  }

  private async record(trigger: WebhookTrigger, seq: number, stamp: string): Promise<void> {
    const webhooks = await this.subscriptions.subscribers(trigger.appId, trigger.entity);
    if (webhooks.length === 0 || !this.source) return;
    const described = await this.source.describe(trigger);
    if (!described) return;
    const payload: EventPayload = {
      action: trigger.action,
      actor: described.actor,
      data: described.data,
      previous_data: trigger.previousData ?? {},
      resource: RESOURCE_OF[trigger.entity],
      version: PAYLOAD_VERSION,
    };
    const event: AppWebhookEventRow = {
      id: newId(),
      app_id: trigger.appId,
      include: trigger.entity,
      payload: JSON.stringify(payload),
      seq,
      created_at: stamp,
      updated_at: stamp,
    };
    const deliveries: AppWebhookDeliveryRow[] = webhooks.map((webhook) => ({
      id: newId(),
      app_id: trigger.appId,
      webhook_id: webhook.id,
      event_id: event.id,
      seq: this.nextSeq(),
      status: 'pending',
      num_attempts: 0,
      next_attempt_at: null,
      last_attempt: null,
      created_at: stamp,
      updated_at: stamp,
    }));
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('app_webhook_events').values(event).execute();
        await trx.insertInto('app_webhook_deliveries').values(deliveries).execute();
      });
    } catch (err) {
      // The app or a webhook was deleted meanwhile: nothing to deliver.
      if (/foreign key|violates/i.test(String(err))) return;
      throw err;
    }
    for (const d of deliveries) this.dispatcher.schedule(d.id);
  }
}
