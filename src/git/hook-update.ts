/**
 * The `update` hook of a CI project's repository, run by git once per ref just before it updates
 * that ref: refuses the change when the project's push rules (projects/push-rules.ts, passed in
 * the environment by smart-http.ts) say so. A non-zero exit makes git leave that one ref alone —
 * the pusher sees our lines as `remote:` lines and `! [remote rejected] <ref> (hook declined)` —
 * while the other refs of the push are updated (all or none with `git push --atomic`).
 */
import { spawnSync } from 'node:child_process';
import { pushRefusal, type PushRules } from '../projects/push-rules.js';
import { PUSH_RULES_ENV } from './hook-protocol.js';

/** Exit status of the hook for `update <ref> <old> <new>`; `say` writes a line for the pusher. */
export function updateHook(args: string[], say: (line: string) => void): number {
  const [ref, oldSha, newSha] = args;
  const raw = process.env[PUSH_RULES_ENV];
  if (!raw || !ref || !oldSha || !newSha) return 0;
  let rules: PushRules;
  try {
    rules = JSON.parse(raw) as PushRules;
  } catch {
    say(`Slipway could not read the protected branches for this push, so ${ref} was left as it was; push again.`);
    return 1;
  }
  const refusal = pushRefusal({ ref, oldSha, newSha }, rules, isAncestor);
  if (!refusal) return 0;
  for (const line of refusal) say(line);
  return 1;
}

/** `git merge-base --is-ancestor` in the repository git runs this hook in (the pushed objects included). */
function isAncestor(older: string, newer: string): boolean {
  return spawnSync('git', ['merge-base', '--is-ancestor', older, newer], { stdio: 'ignore' }).status === 0;
}
