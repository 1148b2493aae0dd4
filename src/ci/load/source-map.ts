// Remembers where every hash and list of the loaded configuration came from, so that errors
// found long after parsing (schema, stages, needs…) can still name a file and a line. Merges
// copy these locations along with the values they copy.
import type { SourceLocation } from '../types.js';

interface Locations {
  self: SourceLocation;
  keys: Map<string | number, SourceLocation>;
}

export type ConfigPath = ReadonlyArray<string | number>;

export class SourceMap {
  private readonly byObject = new WeakMap<object, Locations>();

  record(target: object, self: SourceLocation): void {
    if (!this.byObject.has(target)) this.byObject.set(target, { self, keys: new Map() });
  }

  recordKey(target: object, key: string | number, at: SourceLocation): void {
    const entry = this.byObject.get(target);
    if (entry) entry.keys.set(key, at);
    else this.byObject.set(target, { self: at, keys: new Map([[key, at]]) });
  }

  of(target: unknown): SourceLocation | undefined {
    return typeof target === 'object' && target !== null ? this.byObject.get(target)?.self : undefined;
  }

  keyOf(target: unknown, key: string | number): SourceLocation | undefined {
    if (typeof target !== 'object' || target === null) return undefined;
    return this.byObject.get(target)?.keys.get(key) ?? this.byObject.get(target)?.self;
  }

  /** Copies the location of `from[fromKey]` to `to[toKey]` (used by merges). */
  copyKey(from: unknown, fromKey: string | number, to: object, toKey: string | number = fromKey): void {
    const at = this.keyOf(from, fromKey);
    if (at) this.recordKey(to, toKey, at);
  }

  /** The most precise known location of `path` inside `root`: the deepest key we know. */
  locate(root: unknown, path: ConfigPath): SourceLocation | undefined {
    let best = this.of(root);
    let current: unknown = root;
    for (const key of path) {
      if (typeof current !== 'object' || current === null) break;
      best = this.byObject.get(current)?.keys.get(key) ?? best;
      current = (current as Record<string | number, unknown>)[key];
    }
    return best;
  }
}

/** `/jobs/a~1b/0` (JSON pointer, as ajv reports it) → `['jobs', 'a/b', 0]`. */
export function pointerToPath(pointer: string, root: unknown): Array<string | number> {
  if (!pointer) return [];
  const path: Array<string | number> = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const index = Array.isArray(current) && /^\d+$/.test(key) ? Number(key) : key;
    path.push(index);
    current = typeof current === 'object' && current !== null ? (current as Record<string | number, unknown>)[index] : undefined;
  }
  return path;
}
