// The built file, run as the collector serves it: placeholder replaced by
// the compiled plan, loaded by the install snippet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { bundle, addon, check, PLACEHOLDER } from '../scripts/build.js';
import { fakeWindow, installStub, sent } from './fake-dom.js';

var code = await bundle();
var markup = await addon('markup');

/** The config as the collector writes it (collector/tag.py): JSON, with the add-ons' code spliced in as `a`. */
function configText(plan, addons) {
  var text = JSON.stringify(plan);
  return addons ? text.slice(0, -1) + ',"a":[' + addons.join(',') + ']}' : text;
}

function load(w, src, plan, attrs, addons) {
  w.document.currentScript = { src: src, getAttribute: function (k) { return (attrs || {})[k] || null; } };
  var served = plan ? code.replace(PLACEHOLDER, function () { return configText(plan, addons); }) : code;
  var ctx = Object.assign(Object.create(w), { window: w, document: w.document, URL, URLSearchParams, JSON, Object, Math, Date, Uint8Array });
  vm.runInNewContext(served, ctx);
  w.document.currentScript = null;
}

test('the bundle keeps the placeholder exactly once and fits the budget, add-ons too', function () {
  assert.deepEqual(check(code, { markup: markup }), []);
  var noise = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(400))).toString('base64'); // incompressible
  assert.match(check(code + noise, {})[0] || '', /^over the size budget by \d+ B gzip$/);
  assert.match(check(code, { markup: markup + noise })[0] || '', /^add-on markup over its size budget by \d+ B gzip$/);
});

test('the markup add-on, spliced into the config as the collector does, watches the page', async function () {
  var w = fakeWindow(), h = w.document.h;
  var a = h('section', { 'data-parcours-step': 'vehicle' }), b = h('section', { 'data-parcours-step': 'rider', hidden: '' });
  w.document.body.appendChild(h('div', { 'data-parcours-form': 'moto_quote' }, a, b));
  load(w, 'https://c.example.com/t.js', { f: { moto_quote: ['vehicle', 'rider'] } }, null, [markup]);
  a.hidden = true;
  b.hidden = false;
  await new Promise(function (r) { setImmediate(r); });
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.s]; }), [['page_view', undefined], ['form_step', 'vehicle']]);
});

test('without the add-on, markup is not watched', async function () {
  var w = fakeWindow(), h = w.document.h;
  var a = h('section', { 'data-parcours-step': 'vehicle' }), b = h('section', { 'data-parcours-step': 'rider', hidden: '' });
  w.document.body.appendChild(h('div', { 'data-parcours-form': 'moto_quote' }, a, b));
  load(w, 'https://c.example.com/t.js', { f: { moto_quote: ['vehicle', 'rider'] } });
  a.hidden = true;
  b.hidden = false;
  await new Promise(function (r) { setImmediate(r); });
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return e.e; }), ['page_view']);
  assert.equal(w.document.observers.length, 0);
});

test('the served tag uses the injected plan and posts next to itself', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/devis/?partner=P9&utm_source=x' });
  installStub(w)('step', 'moto_quote', 'vehicle');
  load(w, 'https://www.motoassur.fr/p/t.js', { v: '2026.11.1', e: 'collect', b: 'partner', p: { partner: 30 }, f: { moto_quote: ['vehicle'] } });
  await w.tick();
  assert.equal(w.fetches[0].url, 'https://www.motoassur.fr/p/collect');
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.c]; }), [
    ['page_view', { partner: 'P9' }],
    ['touch', { partner: 'P9' }],
    ['form_step', { partner: 'P9' }]
  ]);
});

test('data-auto="false" on the script tag turns the automatic page view off', async function () {
  var w = fakeWindow();
  installStub(w)('track', 'quote_shown');
  load(w, 'https://collector.example.com/t.js', { f: {} }, { 'data-auto': 'false' });
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return e.e; }), ['quote_shown']);
});

test('a browser without fetch gets nothing, and no error', function () {
  var w = fakeWindow();
  var stub = installStub(w);
  delete w.fetch;
  assert.doesNotThrow(function () { load(w, 'https://collector.example.com/t.js'); });
  assert.equal(w.parcours, stub, 'the stub keeps queueing, harmlessly');
  assert.equal(w.timers.length, 0);
});

test('without injection the tag runs on defaults', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/?courtier=B042' });
  load(w, 'https://collector.example.com/t.js');
  await w.tick();
  assert.equal(w.fetches[0].url, 'https://collector.example.com/collect');
  assert.deepEqual(sent(w)[0].c, { courtier: 'B042' });
});
