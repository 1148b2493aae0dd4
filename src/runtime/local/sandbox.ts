import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from '../contract.js';

/**
 * How a dyno's command line is assembled: the bash wrapper that sources .profile.d, the
 * bubblewrap arguments of the sandbox, and the plain-process fallback.
 */

export const BWRAP = '/usr/bin/bwrap';
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const DEFAULT_PATH = '/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin';

/** A program to spawn, with the exact environment and working directory it gets. */
export interface Launch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * Arguments written to the program's fd 3 (NUL-terminated, read by bwrap's `--args 3`).
   * Command lines are readable by every local user (ps, /proc/PID/cmdline); fd 3 is not.
   */
  fd3Args?: string[];
}

/**
 * Sources the app's profile scripts, then hands over to the command. The command runs in
 * a fresh `bash -c` (not `eval`) so that bash can exec it in place: the app keeps this pid
 * and receives signals itself. $1 = command, $2 = the app directory.
 */
const PROFILE_SCRIPT = [
  'for f in "$2"/.profile.d/*.sh; do if [ -r "$f" ]; then . "$f"; fi; done; unset f',
  'if [ -r "$2/.profile" ]; then . "$2/.profile"; fi',
  'exec /bin/bash --norc -c "$1"',
].join('\n');

function dynoCommand(spec: ProcessSpec, appPath: string): string[] {
  // --norc: Node's stdio pipes are sockets, and bash would otherwise take that for an ssh
  // session and source ~/.bashrc.
  return ['/bin/bash', '--norc', '-c', PROFILE_SCRIPT, `slipway-${spec.name}`, spec.command, appPath];
}

/** The dyno's environment: exactly spec.env, plus HOME and PATH defaults when it has none. */
export function dynoEnv(spec: ProcessSpec, home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.env)) {
    if (key === '' || key.includes('=') || key.includes('\0') || String(value).includes('\0')) {
      throw new Error(`invalid environment variable ${JSON.stringify(key)} for ${spec.appName} ${spec.name}`);
    }
    env[key] = String(value);
  }
  env.HOME ??= home;
  env.PATH ??= DEFAULT_PATH;
  return env;
}

/**
 * Puts the process into its cgroup before anything else runs, then becomes `launch`.
 * bash, not sh: dash silently drops environment variables whose names are not identifiers.
 */
export function inCgroup(launch: Launch, procsFile: string | undefined): Launch {
  if (!procsFile) return launch;
  return { ...launch, file: '/bin/bash', args: ['--norc', '-c', 'echo $$ > "$0" && exec "$@"', procsFile, launch.file, ...launch.args] };
}

/** Plain process: no sandbox. setpriv makes it die with Slipway even after a kill -9. */
export function plainLaunch(spec: ProcessSpec, appDir: string): Launch {
  const command = dynoCommand(spec, appDir);
  const env = dynoEnv(spec, appDir);
  if (!SETPRIV) return { file: command[0]!, args: command.slice(1), env, cwd: appDir };
  return { file: SETPRIV, args: ['--pdeathsig', 'KILL', '--', ...command], env, cwd: appDir };
}

/** The read-only host system as seen in every sandbox; computed once per runtime. */
export function systemBinds(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  // /bin, /lib... are symlinks into /usr on merged-/usr systems and real directories elsewhere.
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (stat.isDirectory()) args.push('--ro-bind', path, path);
  }
  args.push('--ro-bind', '/etc', '/etc');
  // The sandbox runs as the same uid as Slipway (root on most servers, with capabilities
  // dropped): hide what only that uid may read, such as /etc/shadow and TLS private keys.
  for (const { path, dir } of privateEtcEntries()) {
    if (dir) args.push('--tmpfs', path, '--remount-ro', path);
    else args.push('--ro-bind', '/dev/null', path);
  }
  // A resolv.conf that points outside /etc (systemd-resolved) must be visible where it points.
  try {
    const resolv = realpathSync('/etc/resolv.conf');
    if (!resolv.startsWith('/etc/') && !resolv.startsWith('/usr/')) args.push('--ro-bind', resolv, resolv);
  } catch {
    // No resolv.conf: DNS falls back to the libc defaults.
  }
  return args;
}

function privateEtcEntries(): { path: string; dir: boolean }[] {
  const out: { path: string; dir: boolean }[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue;
      }
      if (stat.isSymbolicLink()) continue;
      const worldReadable = (stat.mode & 0o004) !== 0;
      if (stat.isDirectory()) {
        if (!worldReadable || (stat.mode & 0o001) === 0) out.push({ path, dir: true });
        else if (depth < 6) walk(path, depth + 1);
      } else if (stat.isFile() && !worldReadable) out.push({ path, dir: false });
    }
  };
  walk('/etc', 0);
  return out;
}

/** A DNS-style hostname from a dyno name (`web.1` stays `web.1`). */
function hostname(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[.-]+/, '').slice(0, 63) || 'dyno';
}

const NAMESPACES = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];

/** The bubblewrap sandbox: read-only system, the dyno's copy at /app, private /tmp and pids. */
export function bwrapLaunch(spec: ProcessSpec, appDir: string, system: string[]): Launch {
  const env = dynoEnv(spec, '/app');
  const args = [
    ...NAMESPACES,
    '--hostname', hostname(spec.name),
    ...system,
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--bind', appDir, '/app',
    '--chdir', '/app',
    // The environment holds config vars (secrets): it comes through fd 3, never argv.
    '--args', '3',
    '--', ...dynoCommand(spec, '/app'),
  ];
  const fd3Args = ['--clearenv'];
  for (const [key, value] of Object.entries(env)) fd3Args.push('--setenv', key, value);
  // bwrap itself gets an empty environment, so nothing of Slipway's own reaches the dyno.
  return { file: BWRAP, args, env: {}, cwd: '/', fd3Args };
}

/** Runs a throw-away sandbox shaped like a dyno's; resolves to why it failed, or undefined. */
export function probeBwrap(system: string[]): Promise<string | undefined> {
  if (!existsSync(BWRAP)) return Promise.resolve(`${BWRAP} is not installed`);
  const args = [...NAMESPACES, ...system, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--clearenv', '--', '/bin/true'];
  return new Promise((resolve) => {
    execFile(BWRAP, args, { timeout: 15_000, env: {} }, (err, _stdout, stderr) => {
      resolve(err ? `${BWRAP} does not work here: ${String(stderr).trim() || err.message}` : undefined);
    });
  });
}
