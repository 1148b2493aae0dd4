// The one-off dyno rendezvous (heroku-api.md §5.3): TLS to host:port trusting Slipway's CA,
// `secret\r\n`, discard the first chunk (a banner), then stdin → socket → stdout. The exit
// status comes from a marker line the command echoes at its end.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import tls from 'node:tls';
import type { ApiClient } from './client.js';
import { caPath } from './credentials.js';
import { CliError } from './output.js';

export const EXIT_MARKER = '\uFFFF slipway-command-exit-status:';

/** Runs `command` in a subshell (so `exit N` still reaches the echo) and echoes its status. */
export const withExitMarker = (command: string): string => `(${command}\n); echo "${EXIT_MARKER} $?"`;

async function fetchCa(api: ApiClient): Promise<string> {
  const res = await api.raw('GET', '/ca.pem', { headers: { Accept: 'application/x-pem-file, text/plain' } });
  const text = await res.text();
  if (!res.ok || !text.includes('BEGIN CERTIFICATE')) {
    throw new CliError(`Could not fetch Slipway's CA certificate from ${api.url}/ca.pem (HTTP ${res.status}).`);
  }
  const path = caPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
  return text;
}

async function caFor(api: ApiClient, refresh: boolean): Promise<string> {
  const path = caPath();
  if (!refresh && existsSync(path)) return readFileSync(path, 'utf8');
  return fetchCa(api);
}

const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

function connect(host: string, port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const isIp = /^[\d.]+$/.test(host) || host.includes(':');
    const socket = tls.connect({ host, port, ca: [...tls.rootCertificates, ca], ...(isIp ? {} : { servername: host }) });
    const onError = (e: Error) => reject(e);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Connects to an attach_url; refreshes the cached CA once if the certificate is not trusted. */
async function open(api: ApiClient, attachUrl: string): Promise<{ socket: tls.TLSSocket; secret: string }> {
  const url = new URL(attachUrl);
  if (url.protocol !== 'rendezvous:') throw new CliError(`Unexpected attach_url scheme ${url.protocol} (expected rendezvous://).`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port);
  const secret = url.pathname.replace(/^\//, '') + url.search;
  try {
    return { socket: await connect(host, port, await caFor(api, false)), secret };
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!CERT_ERRORS.has(code)) throw new CliError(`Could not connect to the dyno at ${host}:${port}: ${(e as Error).message}`);
    try {
      return { socket: await connect(host, port, await caFor(api, true)), secret };
    } catch (e2) {
      throw new CliError(`Could not connect to the dyno at ${host}:${port}: ${(e2 as Error).message}`);
    }
  }
}

/** Attaches stdin/stdout to the dyno; resolves with the remote command's exit status. */
export async function attach(api: ApiClient, attachUrl: string, opts: { raw?: boolean } = {}): Promise<number> {
  const { socket, secret } = await open(api, attachUrl);
  socket.setTimeout(60 * 60 * 1000);
  socket.write(`${secret}\r\n`);
  const stdin = process.stdin;
  const tty = Boolean(stdin.isTTY) && opts.raw !== false;
  let exitCode: number | undefined;
  let pending = '';
  const decoder = new StringDecoder('utf8');
  const markerRe = new RegExp(`${EXIT_MARKER} (\\d+)\\r?\\n?`);

  // Writes output, holding back anything from U+FFFF on until the marker line is complete.
  const emit = (text: string, final: boolean) => {
    pending += text;
    for (;;) {
      const at = pending.indexOf('\uFFFF');
      if (at < 0) {
        process.stdout.write(pending);
        pending = '';
        return;
      }
      if (at > 0) process.stdout.write(pending.slice(0, at));
      pending = pending.slice(at);
      const m = markerRe.exec(pending);
      if (m && m.index === 0 && (final || /\n$/.test(m[0]))) {
        exitCode = Number(m[1]);
        pending = pending.slice(m[0].length);
        continue;
      }
      if (!final && !pending.includes('\n')) {
        // Incomplete line: wait while it may still turn into the marker.
        const line = pending;
        if (EXIT_MARKER.startsWith(line) || (line.startsWith(EXIT_MARKER) && /^ ?\d*\r?$/.test(line.slice(EXIT_MARKER.length)))) return;
      }
      // Not our marker: print the U+FFFF and carry on after it.
      process.stdout.write(pending.slice(0, 1));
      pending = pending.slice(1);
    }
  };

  return await new Promise<number>((resolve, reject) => {
    let first = true;
    let failed: Error | undefined;
    const startInput = () => {
      if (tty) {
        stdin.setRawMode(true);
        stdin.pipe(socket);
      } else {
        stdin.on('data', (c) => socket.write(c));
        stdin.on('end', () => socket.write('\u0004'));
      }
      stdin.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      if (first) {
        first = false; // the banner
        startInput();
        return;
      }
      emit(decoder.write(chunk), false);
    });
    socket.on('timeout', () => socket.destroy(new Error('the connection to the dyno timed out')));
    socket.on('error', (e) => (failed = e));
    socket.on('close', () => {
      emit(decoder.end(), true);
      if (pending) process.stdout.write(pending);
      if (tty) stdin.setRawMode(false);
      stdin.unpipe(socket);
      stdin.pause();
      if (exitCode !== undefined) resolve(exitCode);
      else if (failed) reject(new CliError(`Lost the connection to the dyno: ${failed.message}`));
      else resolve(0);
    });
  });
}
