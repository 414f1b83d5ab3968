import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParams, merge, active, capture, KEY } from '../src/capture.js';
import { resolveConfig } from '../src/config.js';
import { storage } from '../src/storage.js';
import { start } from '../src/tracker.js';
import { fakeWindow, fakeStorage, sent } from './fake-dom.js';

var cfg = resolveConfig({ b: 'courtier', p: { courtier: 30, utm_source: 30, utm_medium: 30, gclid: 90, fbclid: 7 } });
var DAY = 864e5;
var T0 = 1763822400000;

test('only configured, non-empty parameters are read', function () {
  assert.deepEqual(readParams('?courtier=B042&utm_source=display&foo=1&utm_medium=', cfg), { courtier: 'B042', utm_source: 'display' });
  assert.equal(readParams('?foo=1', cfg), undefined);
  // Blank is absent: `?courtier=%20` replaced the broker and campaign kept for their lifetime with nothing
  assert.equal(readParams('?courtier=%20&utm_source=+', cfg), undefined);
  assert.deepEqual(readParams('?courtier=%20B042%20', cfg), { courtier: 'B042' });
  assert.equal(readParams('', cfg), undefined);
});

test('last non-direct touch: a broker replaces everything, a campaign replaces the campaign but keeps the broker', function () {
  var stored = merge({}, { courtier: 'B042', utm_source: 'comparateur' }, cfg, T0);
  assert.deepEqual(stored, { courtier: ['B042', T0 + 30 * DAY], utm_source: ['comparateur', T0 + 30 * DAY] });
  var later = merge(stored, { gclid: 'abc' }, cfg, T0 + DAY);
  assert.deepEqual(active(later, T0 + DAY), { courtier: 'B042', gclid: 'abc' });
  assert.equal(later.courtier[1], T0 + 30 * DAY, 'the broker keeps its own expiry');
  var other = merge(later, { courtier: 'B107' }, cfg, T0 + 2 * DAY);
  assert.deepEqual(active(other, T0 + 2 * DAY), { courtier: 'B107' });
});

test('each parameter expires after its own plan lifetime', function () {
  var stored = merge({}, { courtier: 'B042', gclid: 'g1', fbclid: 'f1' }, cfg, T0);
  assert.deepEqual(active(stored, T0 + 7 * DAY - 1), { courtier: 'B042', gclid: 'g1', fbclid: 'f1' });
  assert.deepEqual(active(stored, T0 + 7 * DAY), { courtier: 'B042', gclid: 'g1' });
  assert.deepEqual(active(stored, T0 + 30 * DAY), { gclid: 'g1' });
  assert.equal(active(stored, T0 + 90 * DAY), undefined);
});

test('capture tolerates garbage in storage', function () {
  var ls = fakeStorage();
  ls.setItem(KEY, '{not json');
  var w = fakeWindow({ storage: ls });
  assert.deepEqual(capture(storage(w), '?courtier=B042', cfg, T0).c, { courtier: 'B042' });
  for (var junk of ['42', 'null', '"str"', '[1,2]']) {
    ls.setItem(KEY, junk);
    assert.equal(capture(storage(w), '', cfg, T0).c, undefined, junk);
  }
});

test('captured parameters follow the visitor across page loads until they expire; each landing is a touch', async function (t) {
  var clock = T0;
  t.mock.method(Date, 'now', function () { return clock; });
  var ls = fakeStorage(), jar = new Map();
  function load(href) {
    var w = fakeWindow({ href: href, storage: ls, jar: jar });
    start(w, 'https://c.example.com/t.js', { b: 'courtier', p: { courtier: 30, utm_source: 30 } });
    w.parcours('step', 'moto_quote', 'vehicle');
    jar = w.document.jar;
    return w;
  }
  var w1 = load('https://www.motoassur.fr/?courtier=B042&utm_source=display');
  await w1.tick();
  assert.deepEqual(sent(w1).map(function (e) { return [e.e, e.c]; }), [
    ['page_view', { courtier: 'B042', utm_source: 'display' }],
    ['touch', { courtier: 'B042', utm_source: 'display' }],
    ['form_step', { courtier: 'B042', utm_source: 'display' }]
  ]);

  clock += 2 * DAY;
  var w2 = load('https://www.motoassur.fr/devis/?utm_source=newsletter');
  await w2.tick();
  assert.deepEqual(sent(w2).map(function (e) { return [e.e, e.c]; }), [
    ['page_view', { courtier: 'B042', utm_source: 'newsletter' }],
    ['touch', { utm_source: 'newsletter' }],
    ['form_step', { courtier: 'B042', utm_source: 'newsletter' }]
  ]);

  clock += 29 * DAY;
  var w3 = load('https://www.motoassur.fr/devis/');
  await w3.tick();
  assert.deepEqual(sent(w3).map(function (e) { return [e.e, e.c]; }), [
    ['page_view', { utm_source: 'newsletter' }],
    ['form_step', { utm_source: 'newsletter' }]
  ], 'the broker expired 30 days after its own landing; no touch without parameters');
});
