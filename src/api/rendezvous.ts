import type { Duplex } from 'node:stream';
import { constants } from 'node:os';
import type { OneOffRunner } from '../runtime/one-off.js';

const EOT = 0x04;
/** `heroku run -x` appends `; echo "<marker> $?"` and exits with the number after the marker. */
const EXIT_MARKER = '\uFFFF heroku-command-exit-status:';
const EXIT_MARKER_BYTES = Buffer.from(EXIT_MARKER);

/**
 * The `heroku run` rendezvous protocol on Slipway's TLS port: the client sends
 * `<secret>\r\n`; we answer with a banner line (which the client discards), start the
 * one-off dyno, then relay its output to the socket and the socket to its stdin.
 * Without a TTY the client marks the end of its stdin with EOT (0x04).
 */
export async function serveRendezvous(socket: Duplex, firstLine: string, rest: Buffer, oneOffs: OneOffRunner): Promise<void> {
  const secret = firstLine.trim().replace(/^\//, '').split('?')[0];
  const proc = await oneOffs.attach(secret);
  if (!proc) {
    socket.end('This one-off dyno is unknown or was already attached; run the command again.\r\n');
    return;
  }
  socket.write('rendezvous\r\n');
  // Give the banner its own TCP segment: the client throws away the first chunk it reads.
  await new Promise((r) => setTimeout(r, 50));

  const toStdin = (chunk: Buffer) => {
    const eot = chunk.indexOf(EOT);
    if (eot === -1) return void proc.stdin.write(chunk);
    if (eot > 0) proc.stdin.write(chunk.subarray(0, eot));
    proc.stdin.end();
  };
  if (rest.length > 0) toStdin(rest);
  socket.on('data', (chunk: Buffer) => {
    if (!proc.stdin.writableEnded) toStdin(chunk);
  });
  socket.resume();
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (!proc.stdin.writableEnded) proc.stdin.end();
  });
  proc.stdin.on('error', () => undefined);
  // With `-x`, a command that ends the shell itself (`exit 3`, `set -e`, a signal) never
  // reaches the client's echo; Slipway then reports the exit status in the same format.
  const wantsStatus = proc.spec.command.includes(`echo "${EXIT_MARKER} $?"`);
  let tail = Buffer.alloc(0);
  let statusSent = false;
  let atLineStart = true;
  proc.stdout.on('data', (chunk: Buffer) => {
    if (wantsStatus && !statusSent) {
      const seen = Buffer.concat([tail, chunk]);
      statusSent = seen.includes(EXIT_MARKER_BYTES);
      tail = seen.subarray(Math.max(0, seen.length - EXIT_MARKER_BYTES.length));
    }
    if (chunk.length > 0) atLineStart = chunk[chunk.length - 1] === 0x0a;
    socket.write(chunk);
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    if (chunk.length > 0) atLineStart = chunk[chunk.length - 1] === 0x0a;
    socket.write(chunk);
  });
  const status = await proc.exited;
  // Let the last output drain before closing.
  await new Promise((r) => setImmediate(r));
  if (wantsStatus && !statusSent) {
    const signal = status.signal ? (constants.signals as Record<string, number>)[status.signal] : undefined;
    const code = status.code ?? (signal ? 128 + signal : 1);
    socket.write(`${atLineStart ? '' : '\n'}${EXIT_MARKER} ${code}\n`);
  }
  socket.end();
}
