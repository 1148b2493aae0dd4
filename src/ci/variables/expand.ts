// GitLab-side variable expansion: `$VAR`, `${VAR}` and `%VAR%`, `$$` for a literal `$`,
// unknown names left as written (the runner or the shell may know them), and values that
// refer to other variables expanded recursively with a guard against cycles.
import { isHash } from '../types.js';

const REFERENCE = /\$\$|\$\{(\w+)\}|\$(\w+)|%(\w+)%/g;

export function expandString(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(REFERENCE, (whole, braced?: string, bare?: string, percent?: string) => {
    if (whole === '$$') return '$';
    const value = lookup((braced ?? bare ?? percent) as string);
    return value ?? whole;
  });
}

/** A declared variable: its value and whether `expand: false` keeps its `$` literal. */
export interface Declared {
  value: string;
  expand: boolean;
}

/** Ruby's to_s for YAML scalars (GitLab accepts numbers and booleans as variable values). */
export function scalarToString(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value);
}

/** Reads a `variables:` hash into declared values (long form `{value, expand}` included). */
export function readVariables(hash: unknown): Record<string, Declared> {
  const out: Record<string, Declared> = {};
  if (!isHash(hash)) return out;
  for (const [name, raw] of Object.entries(hash)) {
    if (isHash(raw)) out[name] = { value: scalarToString(raw.value), expand: raw.expand !== false };
    else out[name] = { value: scalarToString(raw), expand: true };
  }
  return out;
}

/** Expands every variable against the others (each visited once per chain: no cycles). */
export function expandAll(vars: Record<string, Declared>): Record<string, string> {
  const done = new Map<string, string>();
  const active = new Set<string>();
  const resolve = (name: string): string | undefined => {
    const declared = vars[name];
    if (!declared) return undefined;
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    if (!declared.expand) {
      done.set(name, declared.value);
      return declared.value;
    }
    if (active.has(name)) return declared.value;
    active.add(name);
    const value = expandString(declared.value, (n) => (n === name ? undefined : resolve(n)));
    active.delete(name);
    done.set(name, value);
    return value;
  };
  const result: Record<string, string> = {};
  for (const name of Object.keys(vars)) result[name] = resolve(name) ?? '';
  return result;
}
