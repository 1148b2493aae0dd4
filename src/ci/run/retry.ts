// `retry:` as GitLab reads it: how many more attempts (at most 2), for which failure reasons
// (`when`) and exit codes. Shared by the local scheduler and the server's pipeline runner.
import { isHash } from '../types.js';
import type { FailureReason, JobResult } from './contract.js';

export interface RetryPolicy {
  max: number;
  when: string[];
  exitCodes?: number[];
}

/** `retry: 2` or `retry: {max, when, exit_codes}`. */
export function retryPolicy(config: unknown): RetryPolicy {
  if (typeof config === 'number') return { max: Math.max(0, Math.min(2, config)), when: ['always'] };
  if (!isHash(config)) return { max: 0, when: ['always'] };
  const max = typeof config.max === 'number' ? Math.max(0, Math.min(2, config.max)) : 0;
  const when = config.when === undefined ? ['always'] : [config.when].flat().map(String);
  const exitCodes = config.exit_codes === undefined ? undefined : [config.exit_codes].flat().map(Number);
  return { max, when, ...(exitCodes ? { exitCodes } : {}) };
}

/** Whether a failed attempt is retried under the policy (`when` reasons and `exit_codes`). */
export function retryMatches(policy: RetryPolicy, result: JobResult): boolean {
  const reason: FailureReason = result.failureReason ?? 'unknown_failure';
  const reasons = new Set<string>([reason]);
  if (reason === 'job_execution_timeout') reasons.add('stuck_or_timeout_failure');
  if (!policy.when.includes('always') && !policy.when.some((w) => reasons.has(w))) return false;
  if (policy.exitCodes && (result.exitCode === undefined || !policy.exitCodes.includes(result.exitCode))) return false;
  return true;
}
