/**
 * Heroku-style list ranges: `Range: <field> [start]..[end][; max=N, order=asc|desc]`.
 * Real clients send loose variants (`;` or `,` separators, trailing `;`, empty value), so
 * parsing is lenient. A truncated list answers 206 with `Next-Range` for the next page.
 */
export interface RangeSpec {
  field: string;
  start?: string;
  /** True when the start value is exclusive (`]value..`), as in Next-Range values. */
  startExclusive: boolean;
  end?: string;
  max: number;
  order: 'asc' | 'desc';
}

export const DEFAULT_MAX = 200;
export const LIMIT_MAX = 1000;

export function parseRange(header: string | undefined, defaultField: string, allowed: string[]): RangeSpec {
  const spec: RangeSpec = { field: defaultField, startExclusive: false, max: DEFAULT_MAX, order: 'asc' };
  if (!header || header.trim() === '') return spec;
  const [head, ...rest] = header.split(';');
  const params = rest.join(';');
  const match = /^\s*([a-z_]+)?\s*(\]?)([^.\s]*)\.\.([^;\s]*)\s*$/i.exec(head);
  if (match) {
    if (match[1] && allowed.includes(match[1])) spec.field = match[1];
    spec.startExclusive = match[2] === ']';
    if (match[3]) spec.start = match[3];
    if (match[4]) spec.end = match[4];
  } else {
    const field = head.trim();
    if (allowed.includes(field)) spec.field = field;
  }
  for (const part of params.split(/[;,]/)) {
    const [key, value] = part.split('=').map((s) => s?.trim());
    if (key === 'max' && /^\d+$/.test(value ?? '')) spec.max = Math.min(Math.max(Number(value), 1), LIMIT_MAX);
    if (key === 'order' && (value === 'asc' || value === 'desc')) spec.order = value;
  }
  return spec;
}

export interface Page<T> {
  items: T[];
  status: 200 | 206;
  nextRange?: string;
}

/** Sorts, filters and cuts a list according to a range. */
export function paginate<T>(items: T[], spec: RangeSpec, keyOf: (item: T, field: string) => string | number): Page<T> {
  const compare = (a: string | number, b: string | number) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
  const typed = (raw: string, sample: string | number) => (typeof sample === 'number' ? Number(raw) : raw);
  let list = [...items].sort((a, b) => compare(keyOf(a, spec.field), keyOf(b, spec.field)));
  if (spec.order === 'desc') list.reverse();
  const before = (a: string | number, b: string | number) => (spec.order === 'asc' ? compare(a, b) < 0 : compare(a, b) > 0);
  if (spec.start !== undefined && list.length > 0) {
    const start = typed(spec.start, keyOf(list[0], spec.field));
    list = list.filter((item) => {
      const key = keyOf(item, spec.field);
      return spec.startExclusive ? before(start, key) : !before(key, start);
    });
  }
  if (spec.end !== undefined && list.length > 0) {
    const end = typed(spec.end, keyOf(list[0], spec.field));
    list = list.filter((item) => !before(end, keyOf(item, spec.field)));
  }
  if (list.length <= spec.max) return { items: list, status: 200 };
  const page = list.slice(0, spec.max);
  const last = keyOf(page[page.length - 1], spec.field);
  return { items: page, status: 206, nextRange: `${spec.field} ]${last}..; max=${spec.max}, order=${spec.order}` };
}
