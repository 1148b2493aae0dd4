// Shapes GitLab flattens before it looks at them: script lists nested up to 10 levels (from
// anchors and !reference) and rule, cache and needs lists that splice in other lists.
import { isHash, type CiError, type Hash } from '../types.js';
import type { SourceMap } from './source-map.js';

const SCRIPT_KEYS = ['script', 'before_script', 'after_script'];
const MAX_SCRIPT_NESTING = 10;
/** Lists GitLab flattens completely (its ComposableArray entries). */
const SPLICED_LISTS = ['rules', 'cache', 'needs'];
/** Top-level keys that are not jobs. (`pages` is a job: GitLab Pages' deploy job.) */
export const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script', 'spec']);

export function normalizeConfig(config: Hash, sources: SourceMap): CiError[] {
  const errors: CiError[] = [];
  const fixScripts = (holder: Hash, name: string) => {
    for (const key of SCRIPT_KEYS) {
      const value = holder[key];
      if (!Array.isArray(value)) continue;
      const flat: unknown[] = [];
      sources.record(flat, sources.of(value) ?? sources.keyOf(holder, key) ?? { file: '', line: 0 });
      if (!flatten(value, 1, flat, sources)) {
        const at = sources.keyOf(holder, key) ?? { file: '', line: 0 };
        errors.push({ ...at, message: `${name}${key} config should be string or a nested array of strings up to ${MAX_SCRIPT_NESTING} level deep` });
        continue;
      }
      holder[key] = flat;
    }
    // GitLab reads these as composable lists, flattened at every level: a referenced list
    // may itself splice in others.
    for (const key of SPLICED_LISTS) {
      const list = holder[key];
      // An empty `needs` entry (`-` alone, often from an anchor) is an unspecified entry
      // GitLab skips.
      const dropNull = key === 'needs' && Array.isArray(list) && list.flat(Infinity).includes(null);
      if (!Array.isArray(list) || (!list.some(Array.isArray) && !dropNull)) continue;
      const flat: unknown[] = [];
      sources.record(flat, sources.of(list) ?? { file: '', line: 0 });
      flatten(list, 1, flat, sources, Infinity);
      holder[key] = dropNull ? withoutNulls(flat, sources) : flat;
    }
  };
  fixScripts(config, '');
  for (const [name, value] of Object.entries(config)) {
    if (!isHash(value)) continue;
    if (name === 'workflow') fixScripts(value, 'workflow:');
    else if (name === 'default' || !GLOBAL_KEYWORDS.has(name)) fixScripts(value, `${name}:`);
  }
  return errors;
}

/** Appends the items of nested lists to `into`, each keeping the line it was written on. */
function flatten(list: unknown[], depth: number, into: unknown[], sources: SourceMap, maxDepth = MAX_SCRIPT_NESTING): boolean {
  if (depth > maxDepth) return false;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (Array.isArray(item)) {
      if (!flatten(item, depth + 1, into, sources, maxDepth)) return false;
    } else {
      into.push(item);
      sources.copyKey(list, i, into, into.length - 1);
    }
  }
  return true;
}

function withoutNulls(list: unknown[], sources: SourceMap): unknown[] {
  const kept: unknown[] = [];
  sources.record(kept, sources.of(list) ?? { file: '', line: 0 });
  list.forEach((item, i) => {
    if (item === null) return;
    kept.push(item);
    sources.copyKey(list, i, kept, kept.length - 1);
  });
  return kept;
}
