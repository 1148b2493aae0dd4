import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSlipway, waitFor, EXAMPLES, type Slipway } from '../helpers/slipway.js';
import { exec } from '../helpers/exec.js';
import { createApp, viaRouter } from '../helpers/flow.js';

let s: Slipway;
before(async () => {
  s = await startSlipway({ SLIPWAY_MAX_BODY_BYTES: String(4 * 1024 * 1024) });
  await createApp(s, 'api-built');
});
after(async () => {
  await s?.destroy();
});

async function tarball(dir: string, extra: string[] = []): Promise<Buffer> {
  const out = join(mkdtempSync(join(tmpdir(), 'slipway-tgz-')), 'src.tgz');
  const res = await exec('tar', ['-czf', out, ...extra, '-C', dir, '.']);
  assert.equal(res.code, 0, res.stderr);
  return readFileSync(out);
}

/** What deploy tools do: POST /sources, PUT the tarball with an empty Content-Type, POST a build. */
async function buildFrom(body: Buffer, version = 'v1.2.3') {
  const source = await s.api('POST', '/sources');
  assert.equal(source.status, 201, source.text);
  const put = await fetch(source.body.source_blob.put_url, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': '' } });
  assert.equal(put.status, 200, await put.text());
  const build = await s.api('POST', '/apps/api-built/builds', { source_blob: { url: source.body.source_blob.get_url, version } });
  assert.equal(build.status, 201, build.text);
  return build.body;
}

test('sources → PUT → builds → output stream → poll status, as deploy tools do', async () => {
  const build = await buildFrom(await tarball(join(EXAMPLES, 'static-site')));
  assert.equal(build.status, 'pending');
  const output = await fetch(build.output_stream_url).then((r) => r.text());
  assert.match(output, /Static site detected|static/i);
  assert.match(output, /Released v2/);
  const done = await waitFor('build finished', async () => {
    const b = await s.api('GET', `/apps/api-built/builds/${build.id}`);
    return b.body.status !== 'pending' ? b.body : undefined;
  });
  assert.equal(done.status, 'succeeded');
  assert.ok(done.release?.id);
  assert.ok(done.slug?.id);
  assert.equal(done.source_blob.version, 'v1.2.3');
  const slug = await s.api('GET', `/apps/api-built/slugs/${done.slug.id}`);
  assert.ok(slug.body.size > 0);
  assert.match(slug.body.checksum, /^SHA256:[0-9a-f]{64}$/);
  await waitFor('site served', async () => (await viaRouter(s, 'api-built')).status === 200);
  const list = await s.api('GET', '/apps/api-built/builds');
  assert.equal(list.body.length, 1);
});

test('a tarball with ../ paths is refused with a clear error and changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-evil-'));
  writeFileSync(join(dir, 'index.html'), 'x');
  const out = join(dir, 'evil.tgz');
  // GNU tar keeps a leading ../ with -P.
  const res = await exec('tar', ['-czPf', out, '--transform', 's,^,../../,', '-C', dir, 'index.html']);
  assert.equal(res.code, 0, res.stderr);
  const releasesBefore = (await s.api('GET', '/apps/api-built/releases')).body.length;
  const build = await buildFrom(readFileSync(out));
  const output = await fetch(build.output_stream_url).then((r) => r.text());
  assert.match(output, /outside the app directory/);
  const done = await waitFor('build failed', async () => {
    const b = await s.api('GET', `/apps/api-built/builds/${build.id}`);
    return b.body.status !== 'pending' ? b.body : undefined;
  });
  assert.equal(done.status, 'failed');
  assert.equal((await s.api('GET', '/apps/api-built/releases')).body.length, releasesBefore);
  assert.equal((await viaRouter(s, 'api-built')).status, 200, 'the app keeps serving');
});

test('a symlink escaping the source tree is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-link-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', 'index.html'), 'x');
  symlinkSync('/etc/passwd', join(dir, 'app', 'passwd'));
  const build = await buildFrom(await tarball(join(dir, 'app')));
  const output = await fetch(build.output_stream_url).then((r) => r.text());
  assert.match(output, /passwd/);
  assert.match(output, /outside/);
});

test('uploads above the size limit are refused and nothing is kept', async () => {
  const source = await s.api('POST', '/sources');
  const big = Buffer.alloc(6 * 1024 * 1024, 1);
  const put = await fetch(source.body.source_blob.put_url, { method: 'PUT', body: new Uint8Array(big), headers: { 'Content-Type': '' } });
  assert.equal(put.status, 413);
  const body = await put.json();
  assert.equal(body.id, 'request_entity_too_large');
  assert.match(body.message, /limited to 4 MB/);
  const get = await fetch(source.body.source_blob.get_url);
  assert.equal(get.status, 404, 'no partial blob is served');
});

test('bad build requests get precise errors', async () => {
  const noUrl = await s.api('POST', '/apps/api-built/builds', { source_blob: {} });
  assert.equal(noUrl.status, 422);
  assert.match(noUrl.body.message, /source_blob\.url/);
  const notOurs = await s.api('POST', '/apps/api-built/builds', { source_blob: { url: 'ftp://example.com/x.tgz' } });
  assert.equal(notOurs.status, 422);
  const unknownBlob = await s.api('POST', '/apps/api-built/builds', { source_blob: { url: `${s.url}/sources/00000000-0000-4000-8000-000000000000/nope` } });
  assert.equal(unknownBlob.status, 201);
  const output = await fetch(unknownBlob.body.output_stream_url).then((r) => r.text());
  assert.match(output, /No such source blob/);
});

test('a source_blob.url on another server is downloaded, within the size limit', async () => {
  const good = await tarball(join(EXAMPLES, 'static-site'));
  const big = Buffer.alloc(6 * 1024 * 1024, 7);
  const server = createServer((req, res) => {
    const body = req.url === '/big.tgz' ? big : good;
    // No Content-Length for /big.tgz: the limit must hold while streaming, too.
    res.writeHead(200, req.url === '/big.tgz' ? { 'Content-Type': 'application/gzip' } : { 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const ok = await s.api('POST', '/apps/api-built/builds', { source_blob: { url: `${base}/site.tgz` } });
    assert.equal(ok.status, 201, ok.text);
    assert.match(await fetch(ok.body.output_stream_url).then((r) => r.text()), /Fetching source archive/);
    const done = await waitFor('remote build finished', async () => {
      const b = await s.api('GET', `/apps/api-built/builds/${ok.body.id}`);
      return b.body.status !== 'pending' ? b.body : undefined;
    });
    assert.equal(done.status, 'succeeded');

    const tooBig = await s.api('POST', '/apps/api-built/builds', { source_blob: { url: `${base}/big.tgz` } });
    assert.match(await fetch(tooBig.body.output_stream_url).then((r) => r.text()), /larger than the 4\.0M limit|larger than the 4/);
  } finally {
    server.close();
  }
});
