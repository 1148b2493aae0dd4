// A fast 128-bit non-cryptographic hash for local cache keys (`slipway ci run`'s remembered
// pipelines and state directories). The first SHA-256 of a process initialises OpenSSL, about
// 4 ms of a ~100 ms command; these keys only need to tell the user's own files apart, so four
// independently seeded 32-bit lanes (multiply-xorshift, murmur3's finaliser) are plenty.
// Never use it where someone might choose colliding inputs on purpose.

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

export function fastHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  let c = 0x27d4eb2f;
  let d = 0x165667b1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x5bd1e995);
    b ^= b >>> 15;
    c = Math.imul((c << 5) | (c >>> 27), 0x9e3779b1) ^ ch;
    d = Math.imul(d + ch, 0xcc9e2d51);
    d = (d << 13) | (d >>> 19);
  }
  const n = text.length;
  return hex(fmix(a ^ n)) + hex(fmix(b + n)) + hex(fmix(c ^ Math.imul(n, 31))) + hex(fmix(d ^ a));
}
