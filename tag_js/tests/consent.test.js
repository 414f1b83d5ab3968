import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../src/tracker.js';
import { fakeWindow, fakeStorage, sent, stored } from './fake-dom.js';

var SRC = 'https://collector.example.com/t.js';
var REQUIRED = { c: 'required', x: ['page_view'], b: 'courtier', p: { courtier: 30, utm_source: 30 }, f: { moto_quote: ['vehicle', 'rider'] } };
var names = function (w) { return sent(w).map(function (e) { return e.e; }); };
var NOTHING = { local: [], cookies: [] };

test('consent required: nothing stored and only exempt events sent until granted, then the held events follow in order', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/?courtier=B042' });
  var p = start(w, SRC, REQUIRED);
  p('step', 'moto_quote', 'vehicle');
  await w.tick();
  w.fire('pagehide');
  assert.deepEqual(stored(w), NOTHING);
  assert.deepEqual(names(w), ['page_view']);
  assert.equal(w.beacons.length, 0, 'no form_abandon either: the step is not sent');

  p('consent', 'granted');
  await w.tick();
  assert.deepEqual(names(w), ['page_view', 'touch', 'form_step', 'form_abandon']);
  var [view, touch, step] = sent(w);
  assert.deepEqual(step.c, { courtier: 'B042' });
  assert.equal(step.vid, view.vid);
  assert.deepEqual(stored(w), { local: ['_pcc', '_pcok', '_pcq', '_pcs'], cookies: ['_pcid'] });
  assert.equal(w.document.jar.get('_pcid'), view.vid, 'the visitor id used so far is the one kept');
});

test('consent given on an earlier page holds on the next ones', async function () {
  var ls = fakeStorage(), w = fakeWindow({ storage: ls });
  start(w, SRC, REQUIRED)('consent', 'granted');
  var w2 = fakeWindow({ storage: ls, jar: w.document.jar });
  start(w2, SRC, REQUIRED)('step', 'moto_quote', 'vehicle');
  await w2.tick();
  assert.deepEqual(names(w2), ['page_view', 'form_step']);
  assert.equal(sent(w2)[0].vid, w.document.jar.get('_pcid'));
});

test('denied clears what was stored, drops held events and is remembered', async function () {
  var ls = fakeStorage(), w = fakeWindow({ storage: ls, href: 'https://www.motoassur.fr/?courtier=B042' });
  var p = start(w, SRC, REQUIRED);
  p('consent', 'granted');
  p('step', 'moto_quote', 'vehicle');
  p('consent', 'denied');
  await w.tick();
  assert.deepEqual(stored(w), { local: ['_pcok'], cookies: [] }, 'only the refusal itself is kept');
  assert.equal(w.document.cookieAttrs._pcid[0], 'max-age=0');
  p('step', 'moto_quote', 'rider');
  p('track', 'quote_shown');
  await w.tick();
  w.fire('pagehide');
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.s]; }), [
    ['page_view', undefined], ['touch', undefined], ['form_step', 'vehicle']
  ], 'nothing after the refusal but exempt events: no rider step, no custom event');
  assert.equal(w.beacons.length, 0, 'nor a form_abandon');

  var w2 = fakeWindow({ storage: ls });
  var p2 = start(w2, SRC, REQUIRED);
  p2('step', 'moto_quote', 'vehicle');
  await w2.tick();
  w2.fire('pagehide');
  assert.deepEqual(names(w2), ['page_view']);
  assert.deepEqual(stored(w2), { local: ['_pcok'], cookies: [] });
});

test('exempt mode stores and sends at once; a refusal there keeps measuring without storage', async function () {
  var ls = fakeStorage(), w = fakeWindow({ storage: ls });
  var p = start(w, SRC, { b: 'courtier', p: { courtier: 30 }, f: {} });
  await w.tick();
  assert.deepEqual(stored(w).cookies, ['_pcid']);
  p('consent', 'denied');
  p('track', 'quote_shown');
  await w.tick();
  assert.deepEqual(names(w), ['page_view', 'quote_shown']);
  assert.deepEqual(stored(w), { local: ['_pcok'], cookies: [] });
  var w2 = fakeWindow({ storage: ls });
  start(w2, SRC, { f: {} });
  await w2.tick();
  assert.deepEqual(names(w2), ['page_view']);
  assert.deepEqual(stored(w2), { local: ['_pcok'], cookies: [] });
});

test('a held event carrying a phone is sent when consent is granted, and stored neither before nor after', async function () {
  var w = fakeWindow({ respond: function () { return 503; } });
  var p = start(w, SRC, Object.assign({ n: ['phone'] }, REQUIRED));
  p('step', 'moto_quote', 'rider', { phone: '06 12 34 56 78' });
  p('consent', 'granted');
  await w.tick();
  assert.deepEqual(names(w).slice(0, 2), ['page_view', 'form_step']);
  assert.deepEqual(JSON.parse(w.localStorage.getItem('_pcq')).map(function (e) { return e.e; }), ['page_view']);
});

test('held events are bounded', async function () {
  var w = fakeWindow();
  var p = start(w, SRC, Object.assign({}, REQUIRED, { x: [] }));
  for (var i = 0; i < 150; i++) p('track', 'e' + i);
  p('consent', 'granted');
  await w.tick();
  assert.equal(sent(w).length, 100);
  assert.equal(sent(w)[99].e, 'e149');
});

test('without localStorage the cookies that stand in for it follow the same consent rules', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/?courtier=B042', noLocalStorage: true });
  var p = start(w, SRC, REQUIRED);
  p('step', 'moto_quote', 'vehicle');
  await w.tick();
  assert.deepEqual(stored(w).cookies, [], 'nothing before consent');
  p('consent', 'granted');
  await w.tick();
  assert.deepEqual(stored(w).cookies, ['_pcc', '_pcid', '_pcok', '_pcs']);
  p('consent', 'denied');
  assert.deepEqual(stored(w).cookies, ['_pcok'], 'only the refusal itself is kept');
  assert.equal(w.document.jar.get('_pcok'), '0');
  var w2 = fakeWindow({ noLocalStorage: true, jar: w.document.jar });
  start(w2, SRC, REQUIRED)('step', 'moto_quote', 'vehicle');
  await w2.tick();
  assert.deepEqual(names(w2), ['page_view'], 'the refusal holds on the next page');
});
