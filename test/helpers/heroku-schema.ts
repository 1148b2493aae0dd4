/**
 * Validates Slipway's API responses against the Heroku Platform API hyper-schema
 * (shared/spec/heroku-platform-api.schema.json, interagent draft-04 style).
 *
 * - Each `definitions.<resource>.links[]` entry gives a method and an href template whose
 *   `{(%23%2Fdefinitions%2F...)}` placeholders stand for one path segment.
 * - The response body of a link is its `targetSchema`, or the resource definition itself.
 * - `strictProperties: true` (interagent) becomes `additionalProperties: false`, so a field the
 *   schema does not know fails validation.
 * - The two patterns that name Heroku's hosts (app `git_url`, `web_url`) accept any host.
 * - 4xx/5xx bodies are Heroku errors: `{id, message}` (plus optional `url`, `app`, `resource`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ROOT } from './slipway.js';

const SCHEMA_ID = 'http://api.heroku.com/schema';

// Both packages are CommonJS with `exports.default`; take the class/function either way.
const Ajv = ((ajvDraft04 as unknown as { default?: unknown }).default ?? ajvDraft04) as unknown as new (options: Record<string, unknown>) => {
  addSchema(schema: object, key?: string): unknown;
  compile(schema: object): ValidateFunction;
};
const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ?? ajvFormats) as unknown as (ajv: unknown) => void;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SchemaLink {
  resource: string;
  title: string;
  method: string;
  href: string;
  pattern: RegExp;
  /** Literal (non-placeholder) characters of the href: more means more specific. */
  literal: number;
  placeholders: number;
  target: JsonObject;
}

interface Loaded {
  raw: JsonObject;
  links: SchemaLink[];
  ajv: InstanceType<typeof Ajv>;
  cache: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

/** Where the schema lives: $SLIPWAY_HEROKU_SCHEMA, or shared/spec next to the checkout. */
export function schemaPath(): string {
  const candidates = [
    process.env.SLIPWAY_HEROKU_SCHEMA,
    join(ROOT, '..', 'shared', 'spec', 'heroku-platform-api.schema.json'),
    '/work/shared/spec/heroku-platform-api.schema.json',
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`The Heroku Platform API schema was not found; looked in ${candidates.join(', ')}`);
  return found;
}

/** Applies `fn` to every object in a JSON tree (depth first, parents before children). */
function walk(node: Json, fn: (obj: JsonObject) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, fn);
  } else if (node && typeof node === 'object') {
    fn(node);
    for (const value of Object.values(node)) walk(value, fn);
  }
}

/** Removes `example` keywords (not property maps that happen to have a property named so). */
function stripExamples(node: Json, parentKey = ''): void {
  if (Array.isArray(node)) {
    for (const item of node) stripExamples(item);
  } else if (node && typeof node === 'object') {
    const isMap = parentKey === 'properties' || parentKey === 'patternProperties' || parentKey === 'definitions';
    if (!isMap) delete node.example;
    for (const [key, value] of Object.entries(node)) stripExamples(value, isMap ? '' : key);
  }
}

/** Makes every local `#/...` reference absolute, so a link's targetSchema compiles on its own. */
function absoluteRefs(node: Json): Json {
  const copy = JSON.parse(JSON.stringify(node)) as Json;
  walk(copy, (obj) => {
    if (typeof obj.$ref === 'string' && obj.$ref.startsWith('#')) obj.$ref = SCHEMA_ID + obj.$ref;
  });
  return copy;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\~]/g, '\\$&');
}

const PLACEHOLDER = /\{\([^)]*\)\}/g;

function load(): Loaded {
  if (loaded) return loaded;
  const raw = JSON.parse(readFileSync(schemaPath(), 'utf8')) as JsonObject;
  const schema = JSON.parse(JSON.stringify(raw)) as JsonObject;

  // interagent's strictProperties → JSON Schema's additionalProperties: false.
  walk(schema, (obj) => {
    if (obj.strictProperties === true && obj.additionalProperties === undefined) obj.additionalProperties = false;
  });
  // Heroku's own hostnames (git.heroku.com, *.herokuapp.com) are the only host-specific
  // patterns; a self-hosted server keeps the rest of them (scheme, app name, `.git`, `/`).
  walk(schema, (obj) => {
    if (typeof obj.pattern === 'string') {
      obj.pattern = obj.pattern.replace('git\\.heroku\\.com', '[^/]+').replace('\\.herokuapp\\.com', '\\.[^/]+');
    }
  });
  // A domain's hostname is declared `format: uri`, but Heroku (and its own example,
  // "subdomain.example.com") answer bare hostnames, which are not URIs: check it as a hostname.
  const domainDefs = ((schema.definitions as Record<string, JsonObject>).domain?.definitions ?? {}) as Record<string, JsonObject>;
  if (domainDefs.hostname?.format === 'uri') domainDefs.hostname.format = 'hostname';
  // `example` values carry `id` fields that Ajv would take for draft-04 schema ids.
  stripExamples(schema);
  // Ajv does not know the hyper-schema meta-schema; the document itself is plain draft-04.
  delete schema.$schema;
  schema.id = `${SCHEMA_ID}#`;

  const ajv = new Ajv({
    strict: false, // hyper-schema keywords: links, strictProperties, stability, example, ...
    allErrors: true,
    validateSchema: false,
    unicodeRegExp: false, // patterns such as ^[\w\.\:\[\]]+$ are not valid with the u flag
    logger: false,
  });
  addFormats(ajv);
  ajv.addSchema(schema);

  const links: SchemaLink[] = [];
  const definitions = schema.definitions as Record<string, JsonObject>;
  for (const [resource, definition] of Object.entries(definitions)) {
    const defLinks = (definition.links ?? []) as JsonObject[];
    for (const link of defLinks) {
      const href = String(link.href);
      const parts = href.split(PLACEHOLDER);
      const placeholders = parts.length - 1;
      const pattern = new RegExp(`^${parts.map(escapeRegExp).join('[^/]+')}/?$`);
      const target = (link.targetSchema as JsonObject | undefined) ?? { $ref: `#/definitions/${resource}` };
      links.push({
        resource,
        title: String(link.title ?? ''),
        method: String(link.method).toUpperCase(),
        href: decodeURIComponent(href),
        pattern,
        literal: parts.join('').length,
        placeholders,
        target,
      });
    }
  }
  loaded = { raw, links, ajv, cache: new Map() };
  return loaded;
}

/** Every link of the schema (for coverage reports). */
export function schemaLinks(): SchemaLink[] {
  return load().links;
}

/** The schema links that best match a concrete method and path (most literal characters wins). */
export function matchLinks(method: string, path: string): SchemaLink[] {
  const clean = path.split('?')[0].split('#')[0];
  const candidates = load().links.filter((l) => l.method === method.toUpperCase() && l.pattern.test(clean));
  if (candidates.length === 0) return [];
  const best = Math.max(...candidates.map((l) => l.literal));
  const top = candidates.filter((l) => l.literal === best);
  const fewest = Math.min(...top.map((l) => l.placeholders));
  return top.filter((l) => l.placeholders === fewest);
}

function validatorFor(key: string, schema: Json): ValidateFunction {
  const state = load();
  let validate = state.cache.get(key);
  if (!validate) {
    validate = state.ajv.compile(absoluteRefs(schema) as object);
    state.cache.set(key, validate);
  }
  return validate;
}

/** The Heroku error body: `{id, message}`, optionally `url`, `app` and `resource`. */
const ERROR_SCHEMA: JsonObject = {
  type: 'object',
  required: ['id', 'message'],
  properties: {
    id: { type: 'string', minLength: 1 },
    message: { type: 'string', minLength: 1 },
    url: { type: 'string' },
    resource: { type: 'string' },
    app: { type: 'object', properties: { name: { type: 'string' } } },
  },
  additionalProperties: false,
};

function describe(prefix: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    const params = e.params as Record<string, unknown>;
    let detail = '';
    if (e.keyword === 'additionalProperties') detail = ` (${String(params.additionalProperty)})`;
    else if (e.keyword === 'enum') detail = ` (${JSON.stringify(params.allowedValues)})`;
    return `${prefix}: ${where} ${e.message ?? e.keyword}${detail}`;
  });
}

/** Validates a value against one named definition, e.g. `validateDefinition('account', body)`. */
export function validateDefinition(definition: string, value: unknown, label = `#/definitions/${definition}`): string[] {
  const validate = validatorFor(`def:${definition}`, { $ref: `#/definitions/${definition}` });
  return validate(value) ? [] : describe(label, validate.errors);
}

/**
 * Validates one response. Returns readable errors (an empty list when the body conforms),
 * e.g. `GET /apps/x/releases: /0/user must NOT have additional properties (foo)`.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): string[] {
  const label = `${method.toUpperCase()} ${path}`;
  if (status >= 400) {
    const validate = validatorFor('error', ERROR_SCHEMA);
    return validate(body) ? [] : describe(`${label} (${status} error body)`, validate.errors);
  }
  const links = matchLinks(method, path);
  if (links.length === 0) return [`${label}: no link in the Heroku Platform API schema matches this method and path`];
  // Several links can share a method and href (e.g. release Create and Rollback): any may match.
  let firstErrors: string[] | undefined;
  for (const link of links) {
    const validate = validatorFor(`link:${link.method} ${link.href}`, link.target);
    if (validate(body)) return [];
    firstErrors ??= describe(label, validate.errors);
  }
  return firstErrors ?? [];
}
