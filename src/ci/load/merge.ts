// GitLab's deep merge for includes and `extends`: hashes merge key by key at any depth; for
// anything else (lists, strings, null, `!reference` tags) the later value replaces the earlier one.
import { isHash, type Hash } from '../types.js';
import type { SourceMap } from './source-map.js';
import { ReferenceTag, setOwn } from './yaml.js';

/** A hash to merge into; an unresolved `!reference` is a value, replaced like a list. */
const mergeable = (v: unknown): v is Hash => isHash(v) && !(v instanceof ReferenceTag);

export function deepMerge(base: Hash, over: Hash, sources: SourceMap): Hash {
  const result: Hash = {};
  const at = sources.of(over) ?? sources.of(base);
  if (at) sources.record(result, at);
  for (const [key, value] of Object.entries(base)) {
    setOwn(result, key, value);
    sources.copyKey(base, key, result);
  }
  for (const [key, value] of Object.entries(over)) {
    const previous = result[key];
    setOwn(result, key, mergeable(previous) && mergeable(value) ? deepMerge(previous, value, sources) : value);
    sources.copyKey(over, key, result);
  }
  return result;
}
