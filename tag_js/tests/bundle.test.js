// The built file, run as the collector serves it: placeholder replaced by
// the compiled plan, loaded by the install snippet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { bundle, check, PLACEHOLDER } from '../scripts/build.js';
import { fakeWindow, installStub, sent } from './fake-dom.js';

var code = await bundle();

function load(w, src, plan, attrs) {
  w.document.currentScript = { src: src, getAttribute: function (k) { return (attrs || {})[k] || null; } };
  var served = plan ? code.replace(PLACEHOLDER, function () { return JSON.stringify(plan); }) : code;
  var ctx = Object.assign(Object.create(w), { window: w, document: w.document, URL, URLSearchParams, JSON, Object, Math, Date, Uint8Array });
  vm.runInNewContext(served, ctx);
  w.document.currentScript = null;
}

test('the bundle keeps the placeholder exactly once and fits the budget', function () {
  assert.deepEqual(check(code), []);
});

test('the served tag uses the injected plan and posts next to itself', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/devis/?partner=P9&utm_source=x' });
  installStub(w)('step', 'moto_quote', 'vehicle');
  load(w, 'https://www.motoassur.fr/p/t.js', { v: '2026.11.1', e: 'collect', b: 'partner', p: [], d: 30, f: { moto_quote: ['vehicle'] } });
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

test('a browser without fetch or MutationObserver gets nothing, and no error', function () {
  var w = fakeWindow();
  var stub = installStub(w);
  delete w.MutationObserver;
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
