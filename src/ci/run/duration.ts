// GitLab's natural-language durations (ChronicDuration): `3600`, `'42'` (seconds), `1h 30m`,
// `2 hrs 20 min`, `3 mins 4 sec`, `one hour`, `3 weeks and 2 days`, `6 mos 1 day`, `never`.

const UNITS: Array<[RegExp, number]> = [
  [/^(s|secs?|seconds?)$/, 1],
  [/^(m|mins?|minutes?)$/, 60],
  [/^(h|hrs?|hours?)$/, 3600],
  [/^(d|days?)$/, 86400],
  [/^(w|wks?|weeks?)$/, 7 * 86400],
  [/^(mos?|months?)$/, 30 * 86400],
  [/^(y|yrs?|years?)$/, 365 * 86400],
];

const WORDS: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12, fifteen: 15, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60 };

/** Seconds, or undefined when the text is not a duration; `never` is Infinity. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (text === 'never') return Infinity;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // Split numbers from units (`2h20min` → `2 h 20 min`), drop `and` and commas.
  const tokens = text.replace(/(\d+(?:\.\d+)?)/g, ' $1 ').replace(/,/g, ' ').split(/\s+/).filter((t) => t && t !== 'and');
  let total = 0;
  let pending: number | undefined;
  let matched = false;
  for (const token of tokens) {
    if (/^\d+(\.\d+)?$/.test(token)) {
      if (pending !== undefined) return undefined;
      pending = Number(token);
      continue;
    }
    if (WORDS[token] !== undefined && pending === undefined) {
      pending = WORDS[token];
      continue;
    }
    const unit = UNITS.find(([re]) => re.test(token));
    if (!unit || pending === undefined) return undefined;
    total += pending * unit[1];
    pending = undefined;
    matched = true;
  }
  if (pending !== undefined) total += pending; // a trailing bare number counts as seconds
  return matched || pending !== undefined ? total : undefined;
}
