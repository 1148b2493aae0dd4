import { invalidParams } from './errors.js';

// Heroku's rule: starts with a letter, lowercase letters, digits and dashes, 3 to 30 chars.
const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;

export function validateAppName(name: unknown): string {
  if (typeof name !== 'string' || !APP_NAME.test(name)) {
    throw invalidParams(
      `Name ${JSON.stringify(name)} is invalid: use 3 to 30 characters, lowercase letters, digits and dashes, ` +
        'starting with a letter and not ending with a dash.',
    );
  }
  return name;
}

const ADJECTIVES = ['calm', 'brave', 'quiet', 'rapid', 'lucky', 'sunny', 'bold', 'misty', 'polar', 'amber'];
const NOUNS = ['harbor', 'river', 'falcon', 'meadow', 'comet', 'forest', 'canyon', 'island', 'summit', 'delta'];

/** A friendly random name, as `apps:create` without a name gives on Heroku. */
export function generateAppName(random: () => number = Math.random): string {
  const pick = (list: string[]) => list[Math.floor(random() * list.length)];
  const digits = String(Math.floor(random() * 90000) + 10000);
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${digits}`;
}

// Process types: what a Procfile line may name.
const PROCESS_TYPE = /^[a-zA-Z0-9_-]{1,30}$/;
export const isValidProcessType = (type: string): boolean => PROCESS_TYPE.test(type);

// Config var keys: Heroku accepts letters, digits and underscores (no leading digit).
const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function validateConfigKey(key: string): string {
  if (!CONFIG_KEY.test(key)) {
    throw invalidParams(
      `Config var name ${JSON.stringify(key)} is invalid: use letters, digits and underscores, not starting with a digit.`,
    );
  }
  return key;
}
