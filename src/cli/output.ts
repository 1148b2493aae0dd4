// Terminal output helpers: errors, progress lines, tables, times and colours.

/** An error the CLI reports to the user as-is (no stack trace) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const colourEnabled = (stream: NodeJS.WriteStream): boolean =>
  Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

export const useColour = (): boolean => colourEnabled(process.stdout);

const wrap = (code: string) => (text: string, enabled = useColour()) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
export const colour = {
  bold: wrap('1'),
  dim: wrap('2'),
  red: wrap('31'),
  green: wrap('32'),
  yellow: wrap('33'),
  blue: wrap('34'),
  magenta: wrap('35'),
  cyan: wrap('36'),
};

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function err(line = ''): void {
  process.stderr.write(`${line}\n`);
}

export function warn(message: string): void {
  err(`Warning: ${message}`);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A heading as the heroku CLI prints it: `=== title`. */
export function heading(title: string): void {
  out(colour.bold(`=== ${title}`));
}

/**
 * Shows `label... ` on stderr, runs `fn`, then finishes the line with `done` (or
 * `done, <suffix>` when `fn` returns a string through `setSuffix`). On failure the line ends
 * with `!` and the error propagates.
 */
export async function action<T>(label: string, fn: (setSuffix: (s: string) => void) => Promise<T>, doneWord = 'done'): Promise<T> {
  process.stderr.write(`${label}... `);
  let suffix = '';
  try {
    const result = await fn((s) => (suffix = s));
    process.stderr.write(`${[doneWord, suffix].filter(Boolean).join(', ')}\n`);
    return result;
  } catch (e) {
    process.stderr.write('!\n');
    throw e;
  }
}

/** Key/value block with aligned values, as `apps:info` and `config` print them. */
export function keyValues(rows: Array<[string, string]>, separator = ':'): void {
  const width = Math.max(0, ...rows.map(([k]) => k.length + separator.length));
  for (const [k, v] of rows) out(`${(k + separator).padEnd(width)} ${v}`.trimEnd());
}

/** Plain table: aligned columns, optional header row with an underline. */
export function table(rows: string[][], header?: string[]): void {
  const all = header ? [header, ...rows] : rows;
  const cols = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(0, ...all.map((r) => visibleLength(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i] - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  if (header) {
    out(colour.bold(line(header)));
    out(widths.map((w) => '─'.repeat(w)).join('  '));
  }
  for (const r of rows) out(line(r));
}

const visibleLength = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026/11/23 17:30:01 +0000`, in the local time zone as heroku prints it. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}/${pad2(d.getMonth() + 1)}/${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

/** `~ 5s ago`, `~ 3m ago`, `~ 2h ago`, `~ 4d ago`. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `~ ${s}s ago`;
  if (s < 3600) return `~ ${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `~ ${Math.floor(s / 3600)}h ago`;
  return `~ ${Math.floor(s / 86400)}d ago`;
}

export const timeAndAgo = (iso: string | null | undefined): string => (iso ? `${formatTime(iso)} (${ago(iso)})` : '');

/** `1.2 MB` style sizes. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `A`, `A and B`, `A, B and C`. */
export function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Quotes a value for a POSIX shell when it needs it. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
