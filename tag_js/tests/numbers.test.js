// The tracking-numbers add-on against the fake DOM: what it asks the collector, what it shows, when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { numbers } from '../src/numbers.js';
import { bundle, addon, ENDPOINT, PLACEHOLDER } from '../scripts/build.js';
import { fakeWindow, FakeElement } from './fake-dom.js';

// Text, as far as the add-on reads and writes it (the fake DOM has none of its own).
Object.defineProperty(FakeElement.prototype, 'textContent', {
  get() { return this.text || ''; },
  set(v) { this.text = String(v); },
  configurable: true
});

var VID = '0b7e7a5c-53c1-4f6e-9d3e-1f1f2d3c4b5a';

/** A window whose collector answers number requests with `answers` in turn (a function of the request). */
function page(o) {
  o = o || {};
  var w = fakeWindow({ href: 'https://www.motoassur.fr/devis/' }), h = w.document.h;
  var link = h('a', { href: 'tel:+33970000000', 'data-parcours-phone': '' }, h('span', { 'data-parcours-phone': '' }));
  link.children[0].textContent = '09 70 00 00 00';
  var footer = h('span', { 'data-parcours-phone': '' });
  footer.textContent = '09 70 00 00 00';
  w.document.body.appendChild(link);
  w.document.body.appendChild(footer);
  if (o.session !== false) {
    w.document.cookie = '_pcid=' + VID;
    w.localStorage.setItem('_pcs', JSON.stringify({ i: 'session-1', a: Date.now() }));
  }
  w.clearTimeout = () => {};
  w.asked = [];
  var answer = o.answer || (() => ({ n: '+33970000112', d: '09 70 00 01 12', r: 60 }));
  w.fetch = (url, init) => {
    w.asked.push({ url: url, data: JSON.parse(init.body), init: init });
    var a = answer(w.asked.length);
    return a instanceof Error ? Promise.reject(a) : Promise.resolve({ ok: true, json: () => Promise.resolve(a) });
  };
  w.document.currentScript = { src: 'https://c.example.com/t.js' };
  return { w, link, text: link.children[0], footer };
}

var settle = () => new Promise((r) => setImmediate(r));

test("the session's number replaces the page's, in tel: links and text", async function () {
  var p = page();
  numbers(p.w);
  await settle();
  assert.equal(p.w.asked.length, 1);
  assert.equal(p.w.asked[0].url, 'https://c.example.com/__PARCOURS_ENDPOINT__/number', 'the collector writes its path');
  assert.deepEqual(p.w.asked[0].data, { v: VID, s: 'session-1', u: 'https://www.motoassur.fr/devis/' });
  assert.equal(p.w.asked[0].init.credentials, 'omit');
  assert.equal(p.link.getAttribute('href'), 'tel:+33970000112');
  assert.equal(p.text.textContent, '09 70 00 01 12');
  assert.equal(p.footer.textContent, '09 70 00 01 12');
  assert.equal(p.link.textContent, '', 'an element holding elements keeps them');
});

test('renewed every r seconds while visible; a new number is shown, a hidden page waits', async function () {
  var p = page({ answer: (n) => ({ n: n < 3 ? '+33970000112' : '+33970000113', d: n < 3 ? '09 70 00 01 12' : '09 70 00 01 13', r: 30 }) });
  numbers(p.w);
  await settle();
  assert.deepEqual(p.w.timers.map((t) => t.ms), [30000]);
  p.w.timers.shift().fn(); // the renewal (timers run one at a time: each schedules the next)
  await settle();
  assert.equal(p.w.asked.length, 2);
  p.w.document.visibilityState = 'hidden';
  var t = p.w.timers.shift();
  t.fn();
  await settle();
  assert.equal(p.w.asked.length, 2, 'nothing asked while the page is hidden');
  p.w.document.visibilityState = 'visible';
  p.w.fire('visibilitychange');
  await settle();
  assert.equal(p.w.asked.length, 3, 'asked at once when seen again');
  assert.equal(p.text.textContent, '09 70 00 01 13');
});

test('without a session stored (no consent yet), nothing is asked until there is one', async function () {
  var p = page({ session: false });
  numbers(p.w);
  await settle();
  assert.equal(p.w.asked.length, 0);
  assert.equal(p.text.textContent, '09 70 00 00 00');
  assert.deepEqual(p.w.timers.map((t) => t.ms), [5000]);
  p.w.document.cookie = '_pcid=' + VID; // consent granted: the tag stores the ids
  p.w.localStorage.setItem('_pcs', JSON.stringify({ i: 'session-2', a: Date.now() }));
  p.w.timers.shift().fn();
  await settle();
  assert.equal(p.w.asked[0].data.s, 'session-2');
  assert.equal(p.text.textContent, '09 70 00 01 12');
});

test('the page gets its own number back when the session goes (consent refused)', async function () {
  var p = page();
  numbers(p.w);
  await settle();
  p.w.document.cookie = '_pcid=;max-age=0';
  p.w.localStorage.removeItem('_pcs');
  p.w.timers.shift().fn();
  await settle();
  assert.equal(p.link.getAttribute('href'), 'tel:+33970000000');
  assert.equal(p.text.textContent, '09 70 00 00 00');
});

test('a failed request keeps the page as it is and tries again later', async function () {
  var p = page({ answer: () => new Error('offline') });
  numbers(p.w);
  await settle();
  assert.equal(p.text.textContent, '09 70 00 00 00');
  assert.deepEqual(p.w.timers.map((t) => t.ms), [60000]);
});

test('served by the collector as a site downloads it: the add-on asks next to the tag', async function () {
  var code = await bundle(), source = await addon('numbers');
  assert.equal(source.split(ENDPOINT).length - 1, 1);
  var p = page();
  var served = code.replace(PLACEHOLDER, () => '{"e":"../p/e","a":[' + source.split(ENDPOINT).join('../p/e') + ']}');
  p.w.document.currentScript = { src: 'https://www.motoassur.fr/p/t.js', getAttribute: () => null };
  var ctx = Object.assign(Object.create(p.w), { window: p.w, document: p.w.document, URL, URLSearchParams, JSON, Object, Math, Date, Uint8Array, Map });
  vm.runInNewContext(served, ctx);
  await settle();
  var asked = p.w.asked.filter((a) => a.url.endsWith('/number'));
  assert.equal(asked[0].url, 'https://www.motoassur.fr/p/e/number');
  assert.equal(p.text.textContent, '09 70 00 01 12');
});

test('marked elements parsed after the answer came get the number when the page is loaded', async function () {
  var p = page(), h = p.w.document.h;
  numbers(p.w);
  await settle();
  var late = h('span', { 'data-parcours-phone': '' });
  late.textContent = '09 70 00 00 00';
  p.w.document.body.appendChild(late);
  p.w.fire('DOMContentLoaded');
  assert.equal(late.textContent, '09 70 00 01 12');
});
