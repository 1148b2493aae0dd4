// Shapes GitLab flattens before it looks at them: script lists nested up to 10 levels (from
// anchors and !reference) and rule lists that splice in other rule lists.
import { isHash, type CiError, type Hash } from '../types.js';
import type { SourceMap } from './source-map.js';

const SCRIPT_KEYS = ['script', 'before_script', 'after_script'];
const MAX_SCRIPT_NESTING = 10;
/** Top-level keys that are not jobs. */
export const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script', 'spec', 'pages']);

export function normalizeConfig(config: Hash, sources: SourceMap): CiError[] {
  const errors: CiError[] = [];
  const fixScripts = (holder: Hash, name: string) => {
    for (const key of SCRIPT_KEYS) {
      const value = holder[key];
      if (!Array.isArray(value)) continue;
      const flat: unknown[] = [];
      if (!flatten(value, 1, flat)) {
        const at = sources.keyOf(holder, key) ?? { file: '', line: 0 };
        errors.push({ ...at, message: `${name}${key} config should be string or a nested array of strings up to ${MAX_SCRIPT_NESTING} level deep` });
        continue;
      }
      sources.record(flat, sources.of(value) ?? sources.keyOf(holder, key) ?? { file: '', line: 0 });
      holder[key] = flat;
    }
    const rules = holder.rules;
    if (Array.isArray(rules) && rules.some(Array.isArray)) {
      const flat = rules.flatMap((r) => (Array.isArray(r) ? r : [r]));
      sources.record(flat, sources.of(rules) ?? { file: '', line: 0 });
      holder.rules = flat;
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

function flatten(list: unknown[], depth: number, into: unknown[]): boolean {
  if (depth > MAX_SCRIPT_NESTING) return false;
  for (const item of list) {
    if (Array.isArray(item)) {
      if (!flatten(item, depth + 1, into)) return false;
    } else into.push(item);
  }
  return true;
}
