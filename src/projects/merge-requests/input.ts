/** Checking what callers send for a merge request: branches, title, description, labels. */
import { invalidParams } from '../../core/errors.js';
import { STATES, type MergeRequestState } from './records.js';

const MAX_TITLE = 255;
const MAX_DESCRIPTION = 1_000_000;
const MAX_LABELS = 50;

export interface MergeRequestInput {
  source_branch?: unknown;
  target_branch?: unknown;
  title?: unknown;
  description?: unknown;
  labels?: unknown;
}

export function branchParam(value: unknown, which: 'source' | 'target', required: true): string;
export function branchParam(value: unknown, which: 'source' | 'target', required: false): string | undefined;
export function branchParam(value: unknown, which: 'source' | 'target', required: boolean): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (!required) return undefined;
    throw invalidParams(`A merge request needs a ${which} branch: send {"source_branch": "feature", "target_branch": "main"}.`);
  }
  if (typeof value !== 'string') throw invalidParams(`${which}_branch must be a branch name (a string).`);
  const name = value.replace(/^refs\/heads\//, '');
  if (name.length > 255 || name.startsWith('-') || /[\s\0~^:?*[\\]|\.\.|@\{/.test(name)) {
    throw invalidParams(`${JSON.stringify(value)} is not a valid branch name.`);
  }
  return name;
}

export function titleParam(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalidParams('title must be a non-empty string.');
  const title = value.trim();
  if (title.length > MAX_TITLE) throw invalidParams(`title is too long (${title.length} characters; at most ${MAX_TITLE}).`);
  return title;
}

export function descriptionParam(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParams('description must be a string.');
  if (value.length > MAX_DESCRIPTION) throw invalidParams(`description is too long (at most ${MAX_DESCRIPTION} characters).`);
  return value;
}

/** Labels as GitLab takes them: an array of names or one comma-separated string. */
export function labelsParam(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!raw || raw.some((l) => typeof l !== 'string')) throw invalidParams('labels must be a list of names or a comma-separated string, e.g. "bug,backend".');
  const labels = [...new Set((raw as string[]).map((l) => l.trim()).filter(Boolean))];
  if (labels.length > MAX_LABELS || labels.some((l) => l.length > 255)) throw invalidParams(`labels: at most ${MAX_LABELS} labels of up to 255 characters.`);
  return labels;
}

/** `?state=` of the list: opened, merged, closed, or all (undefined). */
export function stateFilter(value: unknown): MergeRequestState | undefined {
  if (value === undefined || value === '' || value === 'all') return undefined;
  if (typeof value === 'string' && (STATES as readonly string[]).includes(value)) return value as MergeRequestState;
  throw invalidParams(`state must be one of opened, merged, closed or all, not ${JSON.stringify(value)}.`);
}

/** A branch name as a title, GitLab style: `feature/login-page` → `Feature/login page`. */
export function titleFromBranch(branch: string): string {
  const words = branch.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
