// Whether bubblewrap can create a sandbox on this machine. Finding out means starting one
// (a few ms and a process spawn on every `slipway ci run`), and the answer only changes when
// bwrap, the kernel's user-namespace settings or the boot change, so it is remembered per
// user under the cache directory, keyed by exactly those.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SETTINGS = ['/proc/sys/kernel/random/boot_id', '/proc/sys/kernel/unprivileged_userns_clone', '/proc/sys/user/max_user_namespaces'];

const readOr = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '-';
  }
};

/** What the answer depends on; undefined when bwrap is not installed. */
function probeKey(bwrap: string): string | undefined {
  let stat;
  try {
    stat = statSync(bwrap);
  } catch {
    return undefined;
  }
  return [bwrap, stat.size, stat.mtimeMs, process.getuid?.() ?? '-', ...SETTINGS.map(readOr)].join(' ');
}

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || '/tmp', '.cache');
  return join(base, 'slipway', 'bwrap-probe');
}

function remembered(key: string): boolean | undefined {
  try {
    const [storedKey, answer] = readFileSync(cacheFile(), 'utf8').split('\n');
    return storedKey === key ? answer === 'works' : undefined;
  } catch {
    return undefined;
  }
}

function remember(key: string, works: boolean): void {
  try {
    const file = cacheFile();
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${key}\n${works ? 'works' : 'fails'}\n`);
    renameSync(tmp, file);
  } catch {
    // a read-only cache directory: probe again next time
  }
}

/** Starts `bwrap <args> /bin/true` once per machine state and reports whether it exited 0. */
export function probeBwrap(bwrap: string, args: readonly string[]): Promise<boolean> {
  const key = probeKey(bwrap);
  if (key === undefined) return Promise.resolve(false);
  const known = remembered(key);
  if (known !== undefined) return Promise.resolve(known);
  return new Promise((resolve) => {
    const child = spawn(bwrap, [...args, '--', '/bin/true'], { stdio: 'ignore', env: {} });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => {
      remember(key, code === 0);
      resolve(code === 0);
    });
  });
}
