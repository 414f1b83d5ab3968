import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParams, merge, active, capture, KEY } from '../src/capture.js';
import { resolveConfig } from '../src/config.js';
import { storage } from '../src/storage.js';
import { start } from '../src/tracker.js';
import { fakeWindow, fakeStorage, sent } from './fake-dom.js';

var cfg = resolveConfig({ d: 30 });
var DAY = 864e5;
var T0 = 1763822400000;

test('only configured, non-empty parameters are read', function () {
  assert.deepEqual(readParams('?courtier=B042&utm_source=display&foo=1&utm_medium=', cfg), { courtier: 'B042', utm_source: 'display' });
  assert.equal(readParams('?foo=1', cfg), null);
  assert.equal(readParams('', cfg), null);
});

test('a broker id replaces everything stored; other parameters are merged', function () {
  var stored = merge({}, { courtier: 'B042', utm_source: 'comparateur' }, cfg, T0);
  assert.deepEqual(stored, { courtier: ['B042', T0 + 30 * DAY], utm_source: ['comparateur', T0 + 30 * DAY] });
  var later = merge(stored, { gclid: 'abc' }, cfg, T0 + DAY);
  assert.deepEqual(active(later, T0 + DAY), { courtier: 'B042', utm_source: 'comparateur', gclid: 'abc' });
  var other = merge(later, { courtier: 'B107' }, cfg, T0 + 2 * DAY);
  assert.deepEqual(active(other, T0 + 2 * DAY), { courtier: 'B107' });
});

test('values expire d days after their own capture', function () {
  var stored = merge({}, { courtier: 'B042' }, cfg, T0);
  stored = merge(stored, { utm_source: 'news' }, cfg, T0 + 10 * DAY);
  assert.deepEqual(active(stored, T0 + 30 * DAY - 1), { courtier: 'B042', utm_source: 'news' });
  assert.deepEqual(active(stored, T0 + 30 * DAY), { utm_source: 'news' });
  assert.equal(active(stored, T0 + 40 * DAY), undefined);
});

test('capture tolerates garbage in storage', function () {
  var ls = fakeStorage();
  ls.setItem(KEY, '{not json');
  var w = fakeWindow({ storage: ls });
  assert.deepEqual(capture(storage(w), '?courtier=B042', cfg, T0), { courtier: 'B042' });
  ls.setItem(KEY, '42');
  assert.equal(capture(storage(w), '', cfg, T0), undefined);
});

test('captured parameters follow the visitor across page loads until they expire', async function (t) {
  var clock = T0;
  t.mock.method(Date, 'now', function () { return clock; });
  var ls = fakeStorage();
  function load(href) {
    var w = fakeWindow({ href: href, storage: ls });
    start(w, 'https://c.example.com/t.js', { b: 'courtier', p: ['utm_source'], d: 30 });
    w.parcours('step', 'moto_quote', 'vehicle');
    return w;
  }
  var w1 = load('https://www.motoassur.fr/?courtier=B042&utm_source=display');
  await w1.tick();
  assert.deepEqual(sent(w1).map(function (e) { return e.c; }), [
    { courtier: 'B042', utm_source: 'display' },
    { courtier: 'B042', utm_source: 'display' }
  ]);

  clock += 2 * DAY;
  var w2 = load('https://www.motoassur.fr/devis/');
  await w2.tick();
  assert.deepEqual(sent(w2)[1].c, { courtier: 'B042', utm_source: 'display' });

  clock += 29 * DAY;
  var w3 = load('https://www.motoassur.fr/devis/');
  await w3.tick();
  assert.equal('c' in sent(w3)[1], false, 'expired values are not sent');
});
