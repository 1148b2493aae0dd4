import { invalidParams } from './errors.js';

/** Dyno sizes Slipway knows, with the memory limit each gets where cgroups allow it. */
export const DYNO_SIZES: Record<string, { memoryMb: number }> = {
  eco: { memoryMb: 512 },
  basic: { memoryMb: 512 },
  'standard-1x': { memoryMb: 512 },
  'standard-2x': { memoryMb: 1024 },
  'performance-m': { memoryMb: 2560 },
  'performance-l': { memoryMb: 14336 },
};
export const DEFAULT_SIZE = 'Basic';
export const MAX_QUANTITY = 100;

const CANONICAL: Record<string, string> = {
  eco: 'Eco',
  basic: 'Basic',
  'standard-1x': 'Standard-1X',
  'standard-2x': 'Standard-2X',
  'performance-m': 'Performance-M',
  'performance-l': 'Performance-L',
};

/** Accepts any case ("standard-1x", "Standard-1X", "1X", "2X") and returns the canonical name. */
export function normalizeSize(size: string): string {
  let key = size.trim().toLowerCase();
  if (key === '1x') key = 'standard-1x';
  if (key === '2x') key = 'standard-2x';
  const canonical = CANONICAL[key];
  if (!canonical) {
    throw invalidParams(`Dyno size ${JSON.stringify(size)} is unknown; use one of ${Object.values(CANONICAL).join(', ')}.`);
  }
  return canonical;
}

export const memoryForSize = (size: string): number => DYNO_SIZES[size.toLowerCase()]?.memoryMb ?? 512;

/**
 * Applies a quantity as the Heroku API receives it: a number, or a string that is absolute
 * ("2") or relative ("+1", "-1"). The result is clamped at zero and capped.
 */
export function applyQuantity(current: number, quantity: number | string): number {
  const text = String(quantity).trim();
  const match = /^([+-]?)(\d+)$/.exec(text);
  if (!match) throw invalidParams(`Quantity ${JSON.stringify(quantity)} is invalid; use a number such as 2, +1 or -1.`);
  const amount = Number(match[2]);
  const next = match[1] === '+' ? current + amount : match[1] === '-' ? current - amount : amount;
  if (next > MAX_QUANTITY) throw invalidParams(`Quantity ${next} is above the limit of ${MAX_QUANTITY} dynos per process type.`);
  return Math.max(0, next);
}
