/**
 * extractSource: real archives (made with the system tar, or hand-made headers for hostile
 * ones that tar refuses to create), unpacked for real into temp directories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { extractSource, SourceError } from '../../src/build/source.js';
import { exec } from '../helpers/exec.js';

interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO' | 'CharacterDevice';
  linkpath?: string;
  body?: string;
  /** Declared size, to fake huge files without writing them. */
  size?: number;
}

/** Builds a tar archive byte by byte, so that it can hold entries GNU tar would refuse. */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      linkpath: entry.linkpath,
      size: entry.size ?? (type === 'File' ? body.length : 0),
      mode: type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      body.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'slipway-build-source-'));
}

function writeArchive(dir: string, name: string, entries: RawEntry[], gzip = true): string {
  const file = join(dir, name);
  const tarball = rawTar(entries);
  writeFileSync(file, gzip ? gzipSync(tarball) : tarball);
  return file;
}

/** Asserts that extraction fails with a SourceError and that nothing was written anywhere. */
async function assertRejected(entries: RawEntry[], pattern: RegExp): Promise<string> {
  const dir = workspace();
  const archive = writeArchive(dir, 'hostile.tgz', entries);
  const dest = join(dir, 'work', 'app');
  mkdirSync(join(dir, 'work'));
  let message = '';
  await assert.rejects(extractSource(archive, dest), (err: unknown) => {
    assert.ok(err instanceof SourceError, `expected a SourceError, got ${err}`);
    message = err.message;
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(readdirSync(join(dir, 'work')), [], 'nothing may be written beside the destination');
  assert.deepEqual(readdirSync(dir).sort(), ['hostile.tgz', 'work'], 'nothing may be written outside it');
  return message;
}

test('extracts a .tar.gz made from inside the app directory', async () => {
  const dir = workspace();
  const app = join(dir, 'app');
  mkdirSync(join(app, 'lib'), { recursive: true });
  writeFileSync(join(app, 'server.js'), 'console.log("hi")\n');
  writeFileSync(join(app, 'lib', 'util.js'), 'exports.x = 1;\n');
  symlinkSync('lib/util.js', join(app, 'util-link.js'));
  const archive = join(dir, 'app.tgz');
  assert.equal((await exec('tar', ['-czf', archive, '-C', app, '.'])).code, 0);

  const dest = join(dir, 'out');
  const result = await extractSource(archive, dest);
  assert.equal(readFileSync(join(dest, 'server.js'), 'utf8'), 'console.log("hi")\n');
  assert.equal(readFileSync(join(dest, 'lib', 'util.js'), 'utf8'), 'exports.x = 1;\n');
  assert.equal(readlinkSync(join(dest, 'util-link.js')), 'lib/util.js');
  assert.equal(result.strippedDirectory, undefined);
  assert.deepEqual(readdirSync(dir).sort(), ['app', 'app.tgz', 'out']);
});

test('extracts a plain .tar too', async () => {
  const dir = workspace();
  const archive = writeArchive(dir, 'app.tar', [{ path: 'index.html', body: '<h1>hi</h1>' }], false);
  const dest = join(dir, 'out');
  await extractSource(archive, dest);
  assert.equal(readFileSync(join(dest, 'index.html'), 'utf8'), '<h1>hi</h1>');
});

test('strips the single top-level directory of a GitHub-style archive', async () => {
  const dir = workspace();
  const app = join(dir, 'node-app-main');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), '{}');
  writeFileSync(join(app, 'src', 'index.js'), '1');
  const archive = join(dir, 'archive.tar.gz');
  assert.equal((await exec('tar', ['-czf', archive, '-C', dir, 'node-app-main'])).code, 0);

  const dest = join(dir, 'out');
  const result = await extractSource(archive, dest);
  assert.equal(result.strippedDirectory, 'node-app-main');
  assert.deepEqual(readdirSync(dest).sort(), ['package.json', 'src']);
  assert.equal(readFileSync(join(dest, 'src', 'index.js'), 'utf8'), '1');
});

test('does not strip when the root holds a single file or several entries', async () => {
  const dir = workspace();
  const archive = writeArchive(dir, 'a.tgz', [
    { path: 'src/', type: 'Directory' },
    { path: 'src/a.js', body: 'a' },
    { path: 'Procfile', body: 'web: node src/a.js\n' },
  ]);
  const dest = join(dir, 'out');
  const result = await extractSource(archive, dest);
  assert.equal(result.strippedDirectory, undefined);
  assert.deepEqual(readdirSync(dest).sort(), ['Procfile', 'src']);
});

test('rejects a "../" entry and writes nothing', async () => {
  const message = await assertRejected([{ path: 'ok.txt', body: 'fine' }, { path: '../x', body: 'evil' }], /"\.\.\/x" points outside the app directory/);
  assert.match(message, /tar -czf app\.tgz -C app \./, 'the message says how to fix it');
});

test('rejects ".." hidden in the middle of a path', async () => {
  await assertRejected([{ path: 'a/../../etc/passwd', body: 'evil' }], /points outside the app directory/);
});

test('rejects an absolute path', async () => {
  await assertRejected([{ path: '/tmp/slipway-evil-absolute', body: 'evil' }], /"\/tmp\/slipway-evil-absolute" has an absolute path/);
  assert.equal(existsSync('/tmp/slipway-evil-absolute'), false);
});

test('rejects a symlink to /etc', async () => {
  await assertRejected([{ path: 'etc', type: 'SymbolicLink', linkpath: '/etc' }], /symbolic link to "\/etc".*outside the app directory/);
});

test('rejects a symlink climbing out with ../../', async () => {
  await assertRejected([{ path: 'sub/up', type: 'SymbolicLink', linkpath: '../../outside' }], /"sub\/up" is a symbolic link to "\.\.\/\.\.\/outside"/);
});

test('rejects a symlink that escapes through another symlink', async () => {
  // "here" points at the root, so "here/../x" leaves it although it looks local.
  await assertRejected(
    [
      { path: 'here', type: 'SymbolicLink', linkpath: '.' },
      { path: 'escape', type: 'SymbolicLink', linkpath: 'here/../x' },
    ],
    /"escape" is a symbolic link/,
  );
});

test('rejects files written through a symlink in the archive', async () => {
  await assertRejected(
    [
      { path: 'dir', type: 'SymbolicLink', linkpath: 'real' },
      { path: 'dir/file', body: 'x' },
    ],
    /"dir\/file" lies inside the symbolic link "dir"/,
  );
});

test('rejects a hard link escaping the app directory', async () => {
  await assertRejected([{ path: 'passwd', type: 'Link', linkpath: '../../etc/passwd' }], /"passwd" is a hard link to "\.\.\/\.\.\/etc\/passwd"/);
});

test('rejects a hard link to an absolute path', async () => {
  await assertRejected([{ path: 'shadow', type: 'Link', linkpath: '/etc/shadow' }], /hard link to "\/etc\/shadow"/);
});

test('rejects device and fifo entries', async () => {
  await assertRejected([{ path: 'pipe', type: 'FIFO' }], /"pipe" is a named pipe \(FIFO\)/);
  await assertRejected([{ path: 'null', type: 'CharacterDevice' }], /"null" is a character device/);
});

test('rejects archives that unpack to more than 2 GiB', async () => {
  // One header that claims 3 GiB is enough: the check runs on headers, before any data.
  await assertRejected([{ path: 'huge.bin', size: 3 * 1024 ** 3 }], /more than 2 GiB/);
});

test('rejects archives with too many entries', async () => {
  const dir = workspace();
  const entries = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}.txt`, body: `${i}` }));
  const archive = writeArchive(dir, 'many.tgz', entries);
  await assert.rejects(extractSource(archive, join(dir, 'out'), { maxEntries: 10 }), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /more than 10 entries/);
    return true;
  });
  assert.equal(existsSync(join(dir, 'out')), false);
});

test('a file that is not an archive gives a clear error', async () => {
  const dir = workspace();
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'this is not a tarball, just some text\n'.repeat(20));
  await assert.rejects(extractSource(file, join(dir, 'out')), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /not a readable \.tar\.gz or \.tar archive/);
    return true;
  });
  assert.deepEqual(readdirSync(dir), ['notes.txt']);
});

test('a truncated .tar.gz gives a clear error and leaves nothing behind', async () => {
  const dir = workspace();
  const full = gzipSync(rawTar([{ path: 'a.txt', body: 'x'.repeat(5000) }, { path: 'b.txt', body: 'y'.repeat(5000) }]));
  const file = join(dir, 'cut.tgz');
  writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
  await assert.rejects(extractSource(file, join(dir, 'out')), SourceError);
  assert.deepEqual(readdirSync(dir), ['cut.tgz']);
});

test('a missing archive file is reported as such', async () => {
  const dir = workspace();
  await assert.rejects(extractSource(join(dir, 'nope.tgz'), join(dir, 'out')), /does not exist/);
});

test('refuses to unpack over a non-empty directory', async () => {
  const dir = workspace();
  const archive = writeArchive(dir, 'a.tgz', [{ path: 'a.txt', body: 'a' }]);
  const dest = join(dir, 'out');
  mkdirSync(dest);
  writeFileSync(join(dest, 'keep.txt'), 'mine');
  await assert.rejects(extractSource(archive, dest), /already exists and is not an empty directory/);
  assert.deepEqual(readdirSync(dest), ['keep.txt']);
});
