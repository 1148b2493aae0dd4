// `spec:inputs` (a header document above `---`) and `$[[ inputs.name ]]` interpolation, as
// GitLab does it when a file is loaded: the values come from the `include:` entry's `inputs`
// (or the defaults), are checked against the spec (required, type, options, regex), and
// replace every block in the file's keys and values before its own includes are read. A block
// that is a whole string keeps the input's type (a list stays a list); inside a longer string
// it is written as text. A file without a header is left alone, and may not be given inputs.
// Blocks of other contexts (`$[[ matrix.X ]]`) are kept as written.
import { isHash, type CiError, type Hash, type SourceLocation } from '../types.js';
import type { SourceMap } from './source-map.js';
import { setOwn } from './yaml.js';

type InputValue = string | number | boolean | unknown[];

const TYPES = ['string', 'number', 'boolean', 'array'] as const;
const BLOCK = /\$\[\[\s*(.*?)\s*\]\]/g;
const WHOLE_BLOCK = /^\$\[\[\s*(.*?)\s*\]\]$/;

export interface InputsResult {
  values: Record<string, InputValue> | undefined;
  errors: CiError[];
}

/**
 * Checks the given inputs against the header's `spec:inputs`; undefined values mean "no header".
 * A pipeline run's inputs (`fromRun`) may come as text, like a form's fields: text is read as
 * the declared type (`3` for a number, `true` for a boolean, a JSON list for an array).
 */
export function resolveInputs(header: unknown, given: unknown, at: SourceLocation, fromRun = false): InputsResult {
  const errors: CiError[] = [];
  const fail = (message: string): InputsResult => ({ values: undefined, errors: [...errors, { ...at, message }] });
  const provided = given === undefined || given === null ? {} : given;
  if (!isHash(provided)) return fail(`${fromRun ? 'pipeline' : 'include'} inputs must be a hash of input names and values`);
  if (header === undefined) {
    if (!Object.keys(provided).length) return { values: undefined, errors };
    return fail(
      fromRun
        ? `the pipeline was given inputs (${Object.keys(provided).join(', ')}), but this file declares none: add a \`spec: inputs:\` header above a \`---\` line`
        : 'Given inputs not defined in the `spec` section of the included configuration file',
    );
  }
  const spec = isHash(header) && isHash(header.spec) ? header.spec : undefined;
  if (!spec) return fail('the header must be a `spec:` hash');
  const declared = spec.inputs === undefined || spec.inputs === null ? {} : spec.inputs;
  if (!isHash(declared)) return fail('spec:inputs must be a hash of input names');
  const unknown = Object.keys(provided).filter((name) => !Object.hasOwn(declared, name));
  if (unknown.length) return fail(`unknown input arguments: ${unknown.join(', ')}`);
  const values: Record<string, InputValue> = {};
  for (const [name, raw] of Object.entries(declared)) {
    const rules = raw === null ? {} : raw;
    if (!isHash(rules)) return fail(`\`${name}\` input: the spec must be a hash (default, type, options, regex, description)`);
    const type = rules.type ?? 'string';
    if (!TYPES.includes(type as (typeof TYPES)[number])) return fail(`\`${name}\` input: unknown input type \`${String(type)}\``);
    const hasGiven = Object.hasOwn(provided, name);
    const value = hasGiven ? (fromRun ? fromText(provided[name], type as string) : provided[name]) : rules.default;
    if (value === undefined || (value === null && !hasGiven)) return fail(`\`${name}\` input: required value has not been provided`);
    const problem = checkValue(value, type as string, rules, hasGiven ? 'provided' : 'default');
    if (problem) return fail(`\`${name}\` input: ${problem}`);
    values[name] = value as InputValue;
  }
  return { values, errors };
}

/** A run's input given as text, read as its declared type; anything unreadable is left for checkValue to refuse. */
function fromText(value: unknown, type: string): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (type === 'number' && /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (type === 'array' && text.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(text);
      if (Array.isArray(list)) return list;
    } catch {
      // Not JSON: refused below as "not an array".
    }
  }
  return value;
}

function checkValue(value: unknown, type: string, rules: Hash, which: string): string | undefined {
  const ok = type === 'array' ? Array.isArray(value) : type === 'number' ? typeof value === 'number' : type === 'boolean' ? typeof value === 'boolean' : typeof value === 'string';
  if (!ok) return `${which} value is not a${type === 'array' ? 'n' : ''} ${type}`;
  if (Array.isArray(rules.options) && !rules.options.some((o) => o === value)) return `\`${String(value)}\` cannot be used because it is not in the list of allowed options`;
  if (typeof rules.regex === 'string' && typeof value === 'string') {
    const pattern = rules.regex.replace(/^\/(.*)\/$/s, '$1');
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch {
      return `invalid regular expression ${rules.regex}`;
    }
    if (!re.test(value)) return `${which} value does not match required RegEx pattern`;
  }
  return undefined;
}

/** Replaces `$[[ inputs.x ]]` blocks in keys and values, in place where it can. */
export function interpolateInputs(value: unknown, inputs: Record<string, InputValue>, variables: Record<string, string>, at: SourceLocation, sources: SourceMap): { value: unknown; errors: CiError[] } {
  const errors: CiError[] = [];
  const evaluate = (expression: string): InputValue | undefined => {
    const [access, ...functions] = expression.split('|').map((s) => s.trim());
    const m = /^inputs\.([\w-]+)$/.exec(access);
    // Other contexts (`matrix.` in needs:parallel:matrix) are interpolated later, per job.
    if (!m) return undefined;
    if (!Object.hasOwn(inputs, m[1])) {
      errors.push({ ...at, message: `unknown interpolation key: \`${m[1]}\`` });
      return undefined;
    }
    let result: InputValue = inputs[m[1]];
    for (const fn of functions) {
      const applied = applyFunction(fn, result, variables);
      if (typeof applied !== 'object') result = applied;
      else {
        errors.push({ ...at, message: `interpolation function \`${fn}\` ${applied.error}` });
        return undefined;
      }
    }
    return result;
  };
  const inString = (text: string): unknown => {
    if (!text.includes('$[[')) return text;
    const whole = WHOLE_BLOCK.exec(text);
    if (whole && !whole[1].includes(']]')) return evaluate(whole[1]) ?? text;
    return text.replace(BLOCK, (block, expression: string) => {
      const v = evaluate(expression);
      return v === undefined ? block : Array.isArray(v) ? JSON.stringify(v) : String(v);
    });
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return inString(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = walk(node[i]);
      return node;
    }
    if (!isHash(node) || Object.getPrototypeOf(node) !== Object.prototype) return node;
    const keys = Object.keys(node);
    if (!keys.some((k) => k.includes('$[['))) {
      for (const k of keys) node[k] = walk(node[k]);
      return node;
    }
    const renamed: Hash = {};
    sources.record(renamed, sources.of(node) ?? at);
    for (const k of keys) {
      const key = String(inString(k));
      setOwn(renamed, key, walk(node[k]));
      sources.copyKey(node, k, renamed, key);
    }
    return renamed;
  };
  const result = walk(value);
  return { value: result, errors };
}

function applyFunction(call: string, value: InputValue, variables: Record<string, string>): string | { error: string } {
  const m = /^(\w+)(?:\((.*)\))?$/.exec(call);
  const text = Array.isArray(value) ? JSON.stringify(value) : String(value);
  if (m?.[1] === 'expand_vars' && m[2] === undefined) return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, a?: string, b?: string) => variables[(a ?? b) as string] ?? whole);
  if (m?.[1] === 'posix_escape' && m[2] === undefined) return text.replace(/[^\w@%+=:,./-]/g, (c) => `\\${c}`);
  if (m?.[1] === 'truncate' && m[2] !== undefined) {
    const args = m[2].split(',').map((s) => s.trim());
    if (args.length !== 2 || !args.every((a) => /^\d+$/.test(a))) return { error: 'needs two non-negative integers' };
    const [offset, length] = args.map(Number);
    return text.slice(offset, offset + length);
  }
  return { error: 'is unknown or has the wrong arguments' };
}
