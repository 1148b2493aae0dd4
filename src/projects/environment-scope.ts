/**
 * GitLab's wildcard names, used by environment scopes (`review/*`) and protected refs
 * (`release-*`, `v*`): `*` stands for any run of characters, `/` included; everything else is
 * literal; the whole name must match.
 */
const cache = new Map<string, RegExp>();

export function wildcardMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re.test(name);
}

/** Whether a variable's environment scope applies to an environment name. */
export function scopeMatches(scope: string, environment: string): boolean {
  return scope === '*' || wildcardMatches(scope, environment);
}

/**
 * How specific a matching scope is, for "the most specific wins": the exact name beats every
 * pattern, `*` loses to every other pattern, and between patterns the one with more literal
 * characters wins.
 */
export function scopeSpecificity(scope: string, environment: string | undefined): number {
  if (scope === '*') return 0;
  if (scope === environment) return Number.MAX_SAFE_INTEGER;
  return 1 + scope.replace(/\*/g, '').length;
}
