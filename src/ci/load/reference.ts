// Replaces every `!reference [job, key, …]` with the value it points at, across all included
// files. A reference may point at values that hold references themselves (up to 10 deep);
// chains that come back to themselves are errors.
import type { CiError } from '../types.js';
import { ReferenceTag } from './yaml.js';

const MAX_REFERENCE_DEPTH = 10;

export function resolveReferences(root: Record<string, unknown>): CiError[] {
  const errors: CiError[] = [];
  const done = new Map<ReferenceTag, unknown>();
  const visited = new WeakSet<object>();

  const resolveTag = (tag: ReferenceTag, chain: ReferenceTag[]): unknown => {
    if (done.has(tag)) return done.get(tag);
    if (chain.includes(tag)) throw new ReferenceError(tag, `circular !reference [${tag.path.join(', ')}]`);
    if (chain.length >= MAX_REFERENCE_DEPTH) throw new ReferenceError(tag, `!reference [${tag.path.join(', ')}] is nested more than ${MAX_REFERENCE_DEPTH} levels deep`);
    const inner = [...chain, tag];
    let current: unknown = root;
    for (const key of tag.path) {
      if (current instanceof ReferenceTag) current = resolveTag(current, inner);
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) {
        throw new ReferenceError(tag, `!reference [${tag.path.join(', ')}] points at nothing: "${key}" is not defined there`);
      }
      current = (current as Record<string, unknown>)[key];
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
