/**
 * What the webhook service needs from the rest of Slipway, and the shapes it shares with
 * the API. The resource bodies (`data`) come from the API's serializers, which this service
 * may not import: the composition root plugs a `WebhookResourceSource` in.
 */

/** The entities an app webhook can subscribe to (Heroku's `include` values Slipway raises). */
export const WEBHOOK_ENTITIES = ['api:app', 'api:build', 'api:release', 'api:dyno', 'api:formation'] as const;
export type WebhookEntity = (typeof WEBHOOK_ENTITIES)[number];

export const WEBHOOK_LEVELS = ['notify', 'sync'] as const;
export type WebhookLevel = (typeof WEBHOOK_LEVELS)[number];

export type WebhookAction = 'create' | 'update' | 'destroy';

/** The `resource` field of a notification, per entity. */
export const RESOURCE_OF: Record<WebhookEntity, string> = {
  'api:app': 'app',
  'api:build': 'build',
  'api:release': 'release',
  'api:dyno': 'dyno',
  'api:formation': 'formation',
};

export const PAYLOAD_VERSION = 'application/vnd.heroku+json; version=3';

/** Something happened to one resource of an app. */
export interface WebhookTrigger {
  appId: string;
  entity: WebhookEntity;
  action: WebhookAction;
  /** Release/build id, dyno name, process type or app id. */
  resourceId: string;
  previousData?: Record<string, unknown>;
}

export interface DescribedResource {
  /** The resource as the API serializes it. */
  data: Record<string, unknown>;
  actor: { id: string; email: string };
}

/** Turns a trigger into the API's view of the resource; null when it no longer exists. */
export interface WebhookResourceSource {
  describe(trigger: WebhookTrigger): Promise<DescribedResource | null>;
}

/** The stored event payload (also served by GET /apps/{app}/webhook-events). */
export interface EventPayload {
  action: WebhookAction;
  actor: { id: string; email: string };
  data: Record<string, unknown>;
  previous_data: Record<string, unknown>;
  resource: string;
  version: string;
}

export interface LastAttempt {
  id: string;
  code: number | null;
  error_class: string | null;
  status: 'scheduled' | 'succeeded' | 'failed';
  created_at: string;
  updated_at: string;
}
