import type { Kysely } from 'kysely';
import type { Database, AppWebhookRow } from '../store/schema.js';
import { newId, newSecret, now, isUuid } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';
import { WEBHOOK_ENTITIES, WEBHOOK_LEVELS, type WebhookEntity } from './contract.js';

export interface WebhookInput {
  url?: unknown;
  include?: unknown;
  level?: unknown;
  secret?: unknown;
  authorization?: unknown;
}

const MAX_WEBHOOKS_PER_APP = 10;
const MAX_FIELD = 2048;

/**
 * App webhook subscriptions: which URL hears about which entities, at which level. The
 * signing secret is stored for HMAC signing and handed out once, when the webhook is created.
 */
export class WebhookSubscriptions {
  constructor(private readonly db: Kysely<Database>) {}

  async list(appId: string): Promise<AppWebhookRow[]> {
    return this.db.selectFrom('app_webhooks').selectAll().where('app_id', '=', appId).orderBy('created_at').execute();
  }

  async get(appId: string, id: string): Promise<AppWebhookRow> {
    const row = isUuid(id)
      ? await this.db.selectFrom('app_webhooks').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!row) throw notFound('app-webhook', `Couldn't find webhook ${id}.`);
    return row;
  }

  /** The app's webhooks that include an entity. */
  async subscribers(appId: string, entity: WebhookEntity): Promise<AppWebhookRow[]> {
    const rows = await this.list(appId);
    return rows.filter((w) => (JSON.parse(w.include) as string[]).includes(entity));
  }

  /** Creates a webhook; returns it with its secret (generated when none was given). */
  async create(appId: string, input: WebhookInput): Promise<{ webhook: AppWebhookRow; secret: string }> {
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw invalidParams('Send {"url": "https://…", "include": ["api:release"], "level": "notify"}.');
    }
    const count = (await this.list(appId)).length;
    if (count >= MAX_WEBHOOKS_PER_APP) throw invalidParams(`An app can have at most ${MAX_WEBHOOKS_PER_APP} webhooks; remove one first.`);
    const url = parseUrl(input.url);
    const include = parseInclude(input.include);
    const level = parseLevel(input.level);
    const secret = input.secret === undefined || input.secret === null || input.secret === '' ? newSecret(32) : parseText(input.secret, 'secret');
    const authorization = input.authorization === undefined || input.authorization === null ? null : parseText(input.authorization, 'authorization');
    const stamp = now();
    const webhook: AppWebhookRow = {
      id: newId(),
      app_id: appId,
      url,
      include: JSON.stringify(include),
      level,
      secret,
      authorization,
      created_at: stamp,
      updated_at: stamp,
    };
    await this.db.insertInto('app_webhooks').values(webhook).execute();
    return { webhook, secret };
  }

  async update(appId: string, id: string, input: WebhookInput): Promise<AppWebhookRow> {
    const existing = await this.get(appId, id);
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalidParams('Send a JSON object with the fields to change.');
    const changes: Partial<AppWebhookRow> = {};
    if (input.url !== undefined) changes.url = parseUrl(input.url);
    if (input.include !== undefined) changes.include = JSON.stringify(parseInclude(input.include));
    if (input.level !== undefined) changes.level = parseLevel(input.level);
    if (input.secret !== undefined && input.secret !== null) changes.secret = parseText(input.secret, 'secret');
    if (input.authorization !== undefined) changes.authorization = input.authorization === null || input.authorization === '' ? null : parseText(input.authorization, 'authorization');
    if (Object.keys(changes).length === 0) return existing;
    changes.updated_at = now();
    await this.db.updateTable('app_webhooks').set(changes).where('id', '=', existing.id).execute();
    return { ...existing, ...changes };
  }

  async remove(appId: string, id: string): Promise<AppWebhookRow> {
    const existing = await this.get(appId, id);
    await this.db.deleteFrom('app_webhooks').where('id', '=', existing.id).execute();
    return existing;
  }
}

function parseUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_FIELD) throw invalidParams('url must be the http(s) URL of your receiver.');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParams(`url ${JSON.stringify(value)} is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidParams('url must start with https:// or http://.');
  return value;
}

function parseInclude(value: unknown): WebhookEntity[] {
  const supported = WEBHOOK_ENTITIES.join(', ');
  if (!Array.isArray(value) || value.length === 0) throw invalidParams(`include must be a non-empty list of entities: ${supported}.`);
  const result: WebhookEntity[] = [];
  for (const item of value) {
    const entity = typeof item === 'string' ? item.trim() : item;
    if (!WEBHOOK_ENTITIES.includes(entity as WebhookEntity)) {
      throw invalidParams(`${JSON.stringify(item)} is not an entity Slipway sends webhooks for; use ${supported}.`);
    }
    if (!result.includes(entity as WebhookEntity)) result.push(entity as WebhookEntity);
  }
  return result;
}

function parseLevel(value: unknown): string {
  if (!WEBHOOK_LEVELS.includes(value as (typeof WEBHOOK_LEVELS)[number])) {
    throw invalidParams('level must be "notify" (one attempt) or "sync" (retried until it succeeds).');
  }
  return value as string;
}

function parseText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_FIELD || /[\r\n]/.test(value)) {
    throw invalidParams(`${field} must be a single-line string of at most ${MAX_FIELD} characters.`);
  }
  return value;
}
