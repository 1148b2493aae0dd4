// Validates the merged configuration against GitLab's own JSON schema (draft-07, vendored in
// schemas/) and turns ajv's error tree into one readable `file:line: reason` per problem.
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { CiError, Hash } from '../types.js';
import { pointerToPath, type SourceMap } from '../load/source-map.js';
import { installFile } from '../../core/install-root.js';
import { schemaView } from './schema-view.js';

let compiled: ValidateFunction | undefined;

// ajv is loaded only when a pipeline is validated: importing it costs ~80 ms of start-up.
async function validator(): Promise<ValidateFunction> {
  if (compiled) return compiled;
  // A CommonJS package: Node's import() gives named exports, a bundler's only `default`.
  const ajvModule = (await import('ajv')) as unknown as { Ajv?: typeof import('ajv').Ajv; default: { Ajv: typeof import('ajv').Ajv } };
  const Ajv = ajvModule.Ajv ?? ajvModule.default.Ajv;
  const schema = JSON.parse(readFileSync(installFile(import.meta.url, 'schemas', 'gitlab-ci.schema.json'), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });
  compiled = ajv.compile(schema);
  return compiled;
}

/** Keywords whose errors only summarise the alternatives underneath them. */
const SUMMARY_KEYWORDS = new Set(['anyOf', 'oneOf', 'allOf', 'if', 'then', 'else']);

export async function validateSchema(config: Hash, sources: SourceMap, fallbackFile: string): Promise<CiError[]> {
  const validate = await validator();
  const view = schemaView(config, sources);
  if (validate(view)) return [];
  const raw = (validate.errors ?? []).filter((e) => !SUMMARY_KEYWORDS.has(e.keyword));
  // Key each problem by where it points; an unknown key points at the key itself.
  const byPlace = new Map<string, ErrorObject[]>();
  for (const e of raw) {
    const place = e.keyword === 'additionalProperties' ? `${e.instancePath}/${escapePointer(String(e.params.additionalProperty))}` : e.instancePath;
    byPlace.set(place, [...(byPlace.get(place) ?? []), e]);
  }
  // When alternatives fail at different depths, the deepest failure is the informative one
  // (e.g. a typo inside a `needs` hash beats "must be a string").
  const places = [...byPlace.keys()].filter((p) => ![...byPlace.keys()].some((q) => q !== p && q.startsWith(`${p}/`)));
  const errors: CiError[] = [];
  for (const place of places) {
    const path = pointerToPath(place, view);
    const at = sources.locate(view, path) ?? { file: fallbackFile, line: 0 };
    errors.push({ ...at, message: `${describePath(path)}: ${reason(byPlace.get(place) ?? [])}` });
  }
  return errors;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

export function describePath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return 'root';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join(':').replace(/:\[/g, '[');
}

const TYPE_WORDS: Record<string, string> = { string: 'a string', array: 'a list', object: 'a hash', boolean: 'true or false', integer: 'an integer', number: 'a number', null: 'null' };

function reason(errors: ErrorObject[]): string {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return `unknown keyword "${String(unknown.params.additionalProperty)}"`;
  const enums = errors.filter((e) => e.keyword === 'enum').flatMap((e) => (e.params.allowedValues as unknown[]).map(String));
  if (enums.length) return `must be one of ${[...new Set(enums)].join(', ')}`;
  const types = errors.filter((e) => e.keyword === 'type').flatMap((e) => String(e.params.type).split(','));
  if (types.length) return `must be ${[...new Set(types)].map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`;
  const required = errors.find((e) => e.keyword === 'required');
  if (required) return `missing required keyword "${String(required.params.missingProperty)}"`;
  const first = errors[0];
  if (!first) return 'is not valid';
  if (first.keyword === 'const') return `must be ${JSON.stringify(first.params.allowedValue)}`;
  if (first.keyword === 'not') return 'is not allowed here';
  return first.message ?? 'is not valid';
}
