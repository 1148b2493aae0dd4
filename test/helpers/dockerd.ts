/**
 * A Docker engine for tests, with no registry anywhere: uses the engine named by
 * SLIPWAY_TEST_DOCKER_HOST when set, else starts a private dockerd (root only) with its data,
 * exec root, pid file and socket in a temporary directory, no iptables and no default bridge
 * (user-defined networks still work), and stops it afterwards. Images are made by importing a
 * root file system built from Debian's static busybox (package busybox-static).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';

const BUSYBOX = '/bin/busybox';

export interface TestDocker {
  /** For SLIPWAY_DOCKER_HOST / DOCKER_HOST. */
  host: string;
  /** Imports a root file system directory as `name` (with Dockerfile-style changes such as `EXPOSE 80`). */
  importImage(name: string, rootfs: string, changes?: string[]): Promise<void>;
  /** GET/DELETE etc. on the engine; returns the parsed JSON answer. */
  api(method: string, path: string): Promise<unknown>;
  stop(): Promise<void>;
}

function call(socketPath: string, method: string, path: string, body?: Buffer, type = 'application/json'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body ? { 'content-type': type, 'content-length': body.length } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ping = (socketPath: string) => call(socketPath, 'GET', '/_ping').then((r) => r.status === 200, () => false);

function findDockerd(): string {
  for (const path of ['/usr/sbin/dockerd', '/usr/bin/dockerd', '/usr/local/bin/dockerd']) if (existsSync(path)) return path;
  throw new Error('dockerd is not installed (apt-get install docker.io)');
}

async function startDaemon(dir: string, driver: string): Promise<{ child: ChildProcess; socket: string; log: string }> {
  const socket = join(dir, 'docker.sock');
  const log = join(dir, `dockerd-${driver}.log`);
  const args = [
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--host=unix://${socket}`,
    `--storage-driver=${driver}`,
    '--iptables=false',
    '--bridge=none',
    // Away from the address pools a system engine would use, so the two never share a subnet.
    '--default-address-pool=base=10.213.0.0/16,size=24',
  ];
  const out = openSync(log, 'a');
  const child = spawn(findDockerd(), args, { stdio: ['ignore', out, out] });
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 300 && !exited; i++) {
    if (await ping(socket)) return { child, socket, log };
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!exited) child.kill('SIGKILL');
  throw new Error(`dockerd (${driver}) did not start:\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
}

async function stopDaemon(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  }
  // A containerd left behind by a hard kill, then any mount still under the directory.
  try {
    process.kill(Number(readFileSync(join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8')), 'SIGKILL');
  } catch {
    // stopped with dockerd
  }
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m?.startsWith(`${dir}/`))
    .reverse();
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** An engine for this test file: SLIPWAY_TEST_DOCKER_HOST's, or a private dockerd. */
export async function startTestDocker(): Promise<TestDocker> {
  let socket: string;
  let stop = async () => {};
  const imported: string[] = [];
  const given = process.env.SLIPWAY_TEST_DOCKER_HOST;
  if (given) {
    socket = given.replace(/^unix:\/\//, '');
    if (!(await ping(socket))) throw new Error(`SLIPWAY_TEST_DOCKER_HOST=${given} does not answer`);
  } else {
    if (process.getuid?.() !== 0) throw new Error('the Docker tests start their own dockerd, which needs root (or set SLIPWAY_TEST_DOCKER_HOST)');
    // Short: a unix socket path has at most 107 bytes.
    const dir = mkdtempSync('/tmp/sw-dockerd-');
    let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
    const errors: string[] = [];
    for (const driver of ['overlay2', 'vfs']) {
      try {
        daemon = await startDaemon(dir, driver);
        break;
      } catch (e) {
        errors.push((e as Error).message);
        rmSync(join(dir, 'data'), { recursive: true, force: true });
      }
    }
    if (!daemon) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(errors.join('\n\n'));
    }
    socket = daemon.socket;
    const { child } = daemon;
    stop = () => stopDaemon(child, dir);
  }
  const api = async (method: string, path: string) => {
    const r = await call(socket, method, path);
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.text ? (JSON.parse(r.text) as unknown) : undefined;
  };
  return {
    host: `unix://${socket}`,
    api,
    async importImage(name, rootfs, changes = []) {
      const tar = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
      const [repo, tag] = name.split(':');
      const query = [`fromSrc=-`, `repo=${encodeURIComponent(repo)}`, `tag=${encodeURIComponent(tag ?? 'latest')}`, ...changes.map((c) => `changes=${encodeURIComponent(c)}`)].join('&');
      const r = await call(socket, 'POST', `/images/create?${query}`, tar, 'application/x-tar');
      if (r.status >= 400 || r.text.includes('"error"')) throw new Error(`docker import ${name}: ${r.status} ${r.text}`);
      imported.push(name);
    },
    async stop() {
      for (const name of imported) await call(socket, 'DELETE', `/images/${encodeURIComponent(name)}?force=1`).catch(() => undefined);
      await stop();
    },
  };
}

/** A root file system: static busybox with every applet linked in /bin, plus `files`. */
export function busyboxRootfs(dir: string, files: Record<string, string> = {}): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing (apt-get install busybox-static)`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  }
  for (const d of ['tmp', 'root', 'etc', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
