/**
 * The environment a build runs in: a cleared process environment, config vars only as files
 * in ENV_DIR, and a filter that keeps config values out of the build output.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BuildError } from './contract.js';

export const DEFAULT_STACK = 'slipway-24';

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** PATH for build processes: the host node (the one dynos also use) first, then the system. */
export function buildPath(): string {
  return [...new Set([dirname(process.execPath), ...SYSTEM_PATH])].join(':');
}

export function buildEnvironment(options: { home: string; stack: string; sourceVersion?: string }): Record<string, string> {
  const env: Record<string, string> = {
    PATH: buildPath(),
    HOME: options.home,
    STACK: options.stack,
    LANG: 'C.UTF-8',
  };
  if (options.sourceVersion) env.SOURCE_VERSION = options.sourceVersion;
  return env;
}

/** Writes one file per config var, named after the var, holding its value. */
export async function writeEnvDir(envDir: string, vars: Record<string, string>): Promise<void> {
  await mkdir(envDir, { recursive: true, mode: 0o700 });
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new BuildError(
        `Config var name ${JSON.stringify(name)} is not valid; use letters, digits and "_" only, not starting with a digit.`,
      );
    }
    await writeFile(join(envDir, name), value, { mode: 0o600 });
  }
}

/** Values shorter than this are too common ("1", "true") to hide without garbling output. */
const MIN_MASKED_LENGTH = 8;

/** Returns a function that replaces config var values in a line with [MASKED]. */
export function configMasker(vars: Record<string, string>): (line: string) => string {
  // Output arrives line by line, so multi-line values (keys, certificates) are hidden per line.
  const secrets = [...new Set(Object.values(vars).flatMap((value) => value.split(/\r?\n/)))]
    .filter((value) => value.trim().length >= MIN_MASKED_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (line) => line;
  return (line) => secrets.reduce((text, secret) => text.split(secret).join('[MASKED]'), line);
}
