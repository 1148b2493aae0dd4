// The per-app log buffer: the last N lines in order, across wrap-around and growth of the
// byte ring that keeps them off the heap, with filters, resumption ids and live listeners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogHub, type LogLine } from '../../src/logs/log-hub.js';
import { LogRing, MAX_MESSAGE_CHARS } from '../../src/logs/log-ring.js';

test('a hub keeps the last lines of each app in order, through many wraps of its ring', () => {
  const hub = new LogHub(50);
  for (let i = 1; i <= 5000; i++) {
    // Lengths vary so records wrap at different offsets and the ring has to grow.
    hub.append('a', i % 3 === 0 ? 'slipway' : 'app', i % 3 === 0 ? 'router' : `web.${i % 4}`, `line ${i} ${'x'.repeat(i % 97)}`);
  }
  hub.append('b', 'app', 'worker.1', 'other app');
  const lines = hub.recent('a', 1000);
  assert.equal(lines.length, 50);
  assert.deepEqual(
    lines.map((l) => Number(l.message.split(' ')[1])),
    Array.from({ length: 50 }, (_, i) => 4951 + i),
  );
  for (const line of lines) {
    const n = Number(line.message.split(' ')[1]);
    assert.equal(line.message, `line ${n} ${'x'.repeat(n % 97)}`);
    assert.equal(line.dyno, n % 3 === 0 ? 'router' : `web.${n % 4}`);
    assert.equal(line.source, n % 3 === 0 ? 'slipway' : 'app');
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  }
  assert.deepEqual(hub.recent('b', 10).map((l) => l.message), ['other app']);
  assert.deepEqual(hub.recent('a', 0), []);
  assert.deepEqual(hub.recent('nobody', 10), []);
});

test('filters, resumption after an id, multi-line messages and forgetting an app', () => {
  const hub = new LogHub(10);
  hub.append('a', 'app', 'web.1', 'one\r\ntwo\n\nthree');
  hub.append('a', 'slipway', 'router', 'at=info method=GET');
  hub.append('a', 'app', 'worker.1', 'job done');
  const all = hub.recent('a', 100);
  assert.deepEqual(all.map((l) => l.message), ['one', 'two', 'three', 'at=info method=GET', 'job done']);
  assert.deepEqual(hub.recent('a', 100, { dyno: 'web' }).map((l) => l.message), ['one', 'two', 'three']);
  assert.deepEqual(hub.recent('a', 100, { source: 'heroku' }).map((l) => l.dyno), ['router']);
  assert.deepEqual(hub.since('a', all[2].id).map((l) => l.message), ['at=info method=GET', 'job done']);
  assert.deepEqual(hub.recent('a', 2).map((l) => l.message), ['at=info method=GET', 'job done']);
  hub.forget('a');
  assert.deepEqual(hub.recent('a', 100), []);
});

test('listeners see each line as it is appended, with the same id and text readers get later', () => {
  const hub = new LogHub(10);
  const seen: LogLine[] = [];
  const stop = hub.subscribe('a', (line) => seen.push(line));
  hub.append('a', 'app', 'web.1', 'héllo wörld ✓ 🚀');
  hub.append('b', 'app', 'web.1', 'not for a');
  stop();
  hub.append('a', 'app', 'web.1', 'after unsubscribing');
  assert.equal(seen.length, 1);
  const [stored] = hub.recent('a', 2);
  assert.deepEqual(stored, seen[0]);
  assert.equal(stored.message, 'héllo wörld ✓ 🚀');
});

test('a ring cuts an overlong message and still keeps every line when lines are long', () => {
  const ring = new LogRing(4, 16);
  ring.push(1, 1000, 0, 'web.1', 'y'.repeat(MAX_MESSAGE_CHARS + 500));
  for (let i = 2; i <= 9; i++) ring.push(i, 1000 + i, 1, 'router', `${i}`.repeat(3000 * (i % 3)));
  const lines = ring.lines();
  assert.deepEqual(lines.map((l) => l.id), [6, 7, 8, 9]);
  assert.deepEqual(lines.map((l) => l.message.length), [0, 3000, 6000, 0]);
  assert.equal(lines[1].message, '7'.repeat(3000));
  assert.equal(lines[1].time, 1007);
  const cut = new LogRing(2);
  cut.push(1, 0, 0, 'web.1', 'é'.repeat(MAX_MESSAGE_CHARS + 1));
  assert.equal(cut.lines()[0].message, 'é'.repeat(MAX_MESSAGE_CHARS));
  assert.deepEqual(cut.lines(1), []);
});
