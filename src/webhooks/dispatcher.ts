import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, AppWebhookDeliveryRow, AppWebhookEventRow, AppWebhookRow } from '../store/schema.js';
import type { LogHub } from '../logs/log-hub.js';
import { newId, now } from '../core/ids.js';
import type { EventPayload, LastAttempt } from './contract.js';

/** base64(HMAC-SHA256(secret, body)): the `Heroku-Webhook-Hmac-SHA256` header. */
export function signBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

export interface RetryPolicy {
  /** Attempts a `sync` delivery gets in all (a `notify` delivery gets one). */
  maxAttempts: number;
  /** Delay before the second attempt; it doubles after each failure, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 12, firstDelayMs: 1000, maxDelayMs: 10 * 60_000, timeoutMs: 15_000 };

const OPEN_STATUSES = ['pending', 'scheduled', 'retrying'];

/**
 * Sends deliveries: one POST per attempt, signed with the webhook's secret. `notify`
 * webhooks get one attempt, `sync` ones are retried with exponential backoff. Every attempt
 * is recorded on the delivery row, so deliveries that were due when Slipway stopped are
 * sent after it starts again.
 */
export class DeliveryDispatcher {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logs: LogHub,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  /** Picks up every delivery that is not finished (after a restart). */
  async resume(): Promise<number> {
    const open = await this.db.selectFrom('app_webhook_deliveries').select(['id', 'next_attempt_at']).where('status', 'in', OPEN_STATUSES).execute();
    for (const d of open) this.schedule(d.id, d.next_attempt_at ? Date.parse(d.next_attempt_at) : Date.now());
    return open.length;
  }

  schedule(deliveryId: string, atMs = Date.now()): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(deliveryId));
    const timer = setTimeout(() => {
      this.timers.delete(deliveryId);
      void this.attempt(deliveryId).catch((err) => console.error(`[webhooks] delivery ${deliveryId}: ${(err as Error).message}`));
    }, Math.max(0, atMs - Date.now()));
    timer.unref();
    this.timers.set(deliveryId, timer);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async attempt(deliveryId: string): Promise<void> {
    if (this.closed || this.running.has(deliveryId)) return;
    this.running.add(deliveryId);
    try {
      const delivery = await this.db.selectFrom('app_webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst();
      if (!delivery || !OPEN_STATUSES.includes(delivery.status)) return;
      const webhook = await this.db.selectFrom('app_webhooks').selectAll().where('id', '=', delivery.webhook_id).executeTakeFirst();
      const event = await this.db.selectFrom('app_webhook_events').selectAll().where('id', '=', delivery.event_id).executeTakeFirst();
      if (!webhook || !event) return;
      await this.send(delivery, webhook, event);
    } finally {
      this.running.delete(deliveryId);
    }
  }

  private async send(delivery: AppWebhookDeliveryRow, webhook: AppWebhookRow, event: AppWebhookEventRow): Promise<void> {
    const attemptId = newId();
    const startedAt = now();
    const body = notificationBody(event, delivery, webhook, attemptId);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Slipway-Webhooks/1',
      'Heroku-Webhook-Hmac-SHA256': signBody(webhook.secret, body),
      'Heroku-Webhook-Id': delivery.id,
    };
    if (webhook.authorization) headers.Authorization = webhook.authorization;

    let code: number | null = null;
    let errorClass: string | null = null;
    try {
      const response = await fetch(webhook.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.policy.timeoutMs) });
      code = response.status;
      await response.arrayBuffer().catch(() => undefined);
      if (code < 200 || code >= 300) errorClass = `HTTP ${code}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      errorClass = e.name === 'TimeoutError' ? 'Timeout' : e.cause?.code ?? e.name ?? 'Error';
    }

    const succeeded = errorClass === null;
    const attempts = delivery.num_attempts + 1;
    const retry = !succeeded && webhook.level === 'sync' && attempts < this.policy.maxAttempts;
    const finishedAt = now();
    const lastAttempt: LastAttempt = { id: attemptId, code, error_class: errorClass, status: succeeded ? 'succeeded' : 'failed', created_at: startedAt, updated_at: finishedAt };
    const nextAt = retry ? Date.now() + Math.min(this.policy.firstDelayMs * 2 ** (attempts - 1), this.policy.maxDelayMs) : null;
    const status = succeeded ? 'succeeded' : retry ? 'retrying' : 'failed';
    await this.db
      .updateTable('app_webhook_deliveries')
      .set({
        status,
        num_attempts: attempts,
        next_attempt_at: nextAt === null ? null : new Date(nextAt).toISOString(),
        last_attempt: JSON.stringify(lastAttempt),
        updated_at: finishedAt,
      })
      .where('id', '=', delivery.id)
      .execute();
    if (!succeeded) {
      // Only the host: a URL may carry credentials.
      const host = safeHost(webhook.url);
      const then = retry ? `; retrying in ${Math.round((nextAt! - Date.now()) / 1000)} s` : '';
      this.logs.append(delivery.app_id, 'slipway', 'webhooks', `Webhook delivery ${delivery.id} to ${host} failed (${errorClass}), attempt ${attempts}${then}`);
    }
    if (retry && nextAt !== null) this.schedule(delivery.id, nextAt);
  }
}

/** The notification body, in Heroku's webhook shape. */
export function notificationBody(event: AppWebhookEventRow, delivery: AppWebhookDeliveryRow, webhook: AppWebhookRow, attemptId: string): string {
  const payload = JSON.parse(event.payload) as EventPayload;
  return JSON.stringify({
    id: event.id,
    created_at: event.created_at,
    data: payload.data,
    action: payload.action,
    actor: payload.actor,
    previous_data: payload.previous_data,
    published_at: now(),
    resource: payload.resource,
    sequence: null,
    updated_at: event.updated_at,
    version: payload.version,
    webhook_metadata: {
      attempt: { id: attemptId },
      delivery: { id: delivery.id },
      event: { id: event.id, include: event.include },
      webhook: { id: webhook.id },
    },
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the receiver';
  }
}
