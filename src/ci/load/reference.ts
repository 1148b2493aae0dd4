// Replaces every `!reference [job, key, …]` with the value it points at, across all included
// files. A reference may point at values that hold references themselves (up to 10 deep);
// chains that come back to themselves are errors. As in GitLab, references are resolved after
// `extends`: `[.job, key]` sees what `.job` inherits from its parents.
import { isHash, type CiError, type Hash } from '../types.js';
import { deepMerge } from './merge.js';
import { SourceMap } from './source-map.js';
import { ReferenceTag } from './yaml.js';

const MAX_REFERENCE_DEPTH = 10;

export function resolveReferences(root: Record<string, unknown>, sources: SourceMap = new SourceMap()): CiError[] {
  const errors: CiError[] = [];
  const entry = extendedEntries(root, sources);
  const done = new Map<ReferenceTag, unknown>();
  const visited = new WeakSet<object>();

  const resolveTag = (tag: ReferenceTag, chain: ReferenceTag[]): unknown => {
    if (done.has(tag)) return done.get(tag);
    if (chain.includes(tag)) throw new ReferenceError(tag, `circular !reference [${tag.path.join(', ')}]`);
    if (chain.length >= MAX_REFERENCE_DEPTH) throw new ReferenceError(tag, `!reference [${tag.path.join(', ')}] is nested more than ${MAX_REFERENCE_DEPTH} levels deep`);
    const inner = [...chain, tag];
    let current: unknown = root;
    for (const [i, key] of tag.path.entries()) {
      if (current instanceof ReferenceTag) current = resolveTag(current, inner);
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) {
        throw new ReferenceError(tag, `!reference [${tag.path.join(', ')}] points at nothing: "${key}" is not defined there`);
      }
      current = i === 0 ? entry(key) : (current as Record<string, unknown>)[key];
    }
    const value = walk(current, inner);
    done.set(tag, value);
    return value;
  };

  // Replaces tags in place inside hashes and lists; returns the (possibly replaced) value.
  const walk = (value: unknown, chain: ReferenceTag[]): unknown => {
    if (value instanceof ReferenceTag) return resolveTag(value, chain);
    if (typeof value !== 'object' || value === null || visited.has(value)) return value;
    visited.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i], chain);
    } else {
      const hash = value as Record<string, unknown>;
      for (const key of Object.keys(hash)) hash[key] = walk(hash[key], chain);
    }
    return value;
  };

  // Each top-level key separately, so one bad reference does not hide the others.
  for (const key of Object.keys(root)) {
    try {
      root[key] = walk(root[key], []);
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
      errors.push({ ...e.tag.at, message: e.message });
      stripTags(root[key]);
    }
  }
  return errors;
}

/**
 * A top-level entry with its `extends` parents merged in (GitLab's order: extends, then
 * references). Unknown parents and loops are left to the extends check, which reports them.
 */
function extendedEntries(root: Record<string, unknown>, sources: SourceMap): (name: string) => unknown {
  const cache = new Map<string, unknown>();
  const entry = (name: string, seen: string[]): unknown => {
    const own = root[name];
    if (!isHash(own) || own instanceof ReferenceTag || own.extends === undefined || own.extends === null) return own;
    if (cache.has(name)) return cache.get(name);
    if (seen.includes(name)) return own;
    let merged: Hash = {};
    for (const parent of Array.isArray(own.extends) ? own.extends : [own.extends]) {
      const base = Object.hasOwn(root, String(parent)) ? entry(String(parent), [...seen, name]) : undefined;
      if (isHash(base) && !(base instanceof ReferenceTag)) merged = deepMerge(merged, base, sources);
    }
    const result = deepMerge(merged, own, sources);
    cache.set(name, result);
    return result;
  };
  return (name) => entry(name, []);
}

/** After an error, leave no tags behind for later stages to trip over. */
function stripTags(value: unknown, seen = new WeakSet<object>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  const holder = value as Record<string, unknown>;
  for (const key of Object.keys(holder)) {
    if (holder[key] instanceof ReferenceTag) holder[key] = null;
    else stripTags(holder[key], seen);
  }
}

class ReferenceError extends Error {
  constructor(
    readonly tag: ReferenceTag,
    message: string,
  ) {
    super(message);
  }
}
