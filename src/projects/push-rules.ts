/**
 * What a push may do to a project's protected refs, as GitLab decides by default: no push
 * deletes a protected branch, and a protected branch only moves forward (the old tip must be an
 * ancestor of the new one) unless a matching rule allows force pushes; a protected tag is
 * never deleted or moved by a push. Creating a branch or tag is always allowed.
 *
 * Pure: the rules are read when a receive-pack starts (ProtectedRefService.pushRules) and
 * travel to git's `update` hook, which asks `pushRefusal` about each ref before git updates it.
 */
import { wildcardMatches } from './environment-scope.js';

export interface PushRules {
  /** The project's name (for the hints shown to the pusher). */
  project: string;
  branches: Array<{ name: string; allowForcePush: boolean }>;
  tags: string[];
}

export interface RefChange {
  ref: string;
  oldSha: string;
  newSha: string;
}

const ZERO = /^0+$/;

/** Whether the rules protect anything at all (the hook is skipped when not). */
export const protectsAnything = (rules: PushRules): boolean => rules.branches.length + rules.tags.length > 0;

/**
 * Why the change is refused (lines shown to the pusher, the reason first), or undefined when it
 * may go ahead. `isAncestor(older, newer)` is only asked for updates of protected branches.
 */
export function pushRefusal(change: RefChange, rules: PushRules, isAncestor: (older: string, newer: string) => boolean): string[] | undefined {
  const { ref, oldSha, newSha } = change;
  if (ZERO.test(oldSha)) return undefined;
  const deletion = ZERO.test(newSha);
  const p = rules.project;
  if (ref.startsWith('refs/heads/')) {
    const name = ref.slice('refs/heads/'.length);
    const matching = rules.branches.filter((b) => wildcardMatches(b.name, name));
    if (matching.length === 0) return undefined;
    const what = `${name} is a protected branch${via(name, matching.map((b) => b.name))}`;
    if (deletion) return [`${what}: it cannot be deleted.`, `To delete it, unprotect it first: slipway ci:unprotect -p ${p} --branch ${quote(matching[0].name)}`];
    // GitLab: the most permissive matching rule decides.
    if (matching.some((b) => b.allowForcePush) || isAncestor(oldSha, newSha)) return undefined;
    return [
      `${what}: force pushes are not allowed.`,
      `What you pushed does not contain its tip ${oldSha.slice(0, 8)}: fetch, merge or rebase onto it and push again,`,
      `or allow force pushes: slipway ci:protect -p ${p} --branch ${quote(matching[0].name)} --allow-force-push`,
    ];
  }
  if (ref.startsWith('refs/tags/')) {
    const name = ref.slice('refs/tags/'.length);
    const matching = rules.tags.filter((t) => wildcardMatches(t, name));
    if (matching.length === 0) return undefined;
    const what = `${name} is a protected tag${via(name, matching)}`;
    if (deletion) return [`${what}: it cannot be deleted.`, `To delete it, unprotect it first: slipway ci:unprotect -p ${p} --tag ${quote(matching[0])}`];
    return [`${what}: it cannot be moved (protected tags are never updated).`, 'Push a new tag instead.'];
  }
  return undefined;
}

/** A pattern as it is typed in a shell. */
const quote = (pattern: string): string => (pattern.includes('*') ? `'${pattern}'` : pattern);

/** ` (release/*)` when the name is protected through a wildcard only. */
function via(name: string, patterns: string[]): string {
  return patterns.includes(name) ? '' : ` (${patterns[0]})`;
}
