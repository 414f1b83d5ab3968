import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../src/tracker.js';
import { fakeWindow, installStub, sent } from './fake-dom.js';

var SRC = 'https://collector.example.com/t.js';

test('calls made before load are replayed in order, after the automatic page_view', async function () {
  var w = fakeWindow();
  var stub = installStub(w);
  w.parcours('step', 'moto_quote', 'vehicle');
  w.parcours('step', 'moto_quote', 'rider', { bonus: 50 });
  w.parcours('track', 'callback_requested', { slot: 'morning' });
  start(w, SRC, '__PARCOURS_CONFIG__');
  assert.notEqual(w.parcours, stub);
  await w.tick();
  var ev = sent(w);
  assert.deepEqual(ev.map(function (e) { return [e.q, e.e, e.f, e.s, e.p]; }), [
    [1, 'page_view', undefined, undefined, undefined],
    [2, 'form_step', 'moto_quote', 'vehicle', undefined],
    [3, 'form_step', 'moto_quote', 'rider', { bonus: 50 }],
    [4, 'callback_requested', undefined, undefined, { slot: 'morning' }]
  ]);
  assert.equal(w.fetches.length, 1, 'one batch');
});

test('a step is stamped when called, not when sent, and sequence numbers follow calls', async function (t) {
  var clock = 1763822400000;
  t.mock.method(Date, 'now', function () { return clock; });
  var w = fakeWindow({ href: 'https://www.motoassur.fr/devis/?x=1', referrer: 'https://www.google.fr/' });
  start(w, SRC, '__PARCOURS_CONFIG__');
  clock += 1000;
  w.parcours('step', 'moto_quote', 'vehicle');
  clock += 1000;
  var props = { phone: '0612345678', quote_id: 'Q-1' };
  w.parcours('submit', 'moto_quote', props);
  props.phone = 'changed after the call';
  clock += 5000;
  await w.tick();
  var batch = w.fetches[0].data;
  assert.equal(batch.sent, 1763822407000);
  var [page, step, submit] = batch.events;
  assert.deepEqual([page.t, step.t, submit.t], [1763822400000, 1763822401000, 1763822402000]);
  assert.deepEqual([page.q, step.q, submit.q], [1, 2, 3]);
  assert.deepEqual(step, {
    id: step.id, e: 'form_step', t: 1763822401000, q: 2, vid: page.vid, sid: page.sid,
    url: 'https://www.motoassur.fr/devis/?x=1', ref: 'https://www.google.fr/', f: 'moto_quote', s: 'vehicle'
  });
  assert.deepEqual(submit.p, { phone: '0612345678', quote_id: 'Q-1' });
  assert.equal(submit.f, 'moto_quote');
  assert.equal('s' in submit, false);
  assert.match(step.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(step.id, submit.id);
});

test('malformed commands are ignored and nothing throws, even with storage blocked', async function () {
  var w = fakeWindow({ blocked: true });
  installStub(w)('step', 'moto_quote');
  assert.doesNotThrow(function () { start(w, SRC, '__PARCOURS_CONFIG__'); });
  assert.doesNotThrow(function () {
    w.parcours();
    w.parcours('nope', 1);
    w.parcours('step', null, 'vehicle');
    w.parcours('track', 'quote_shown');
  });
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return e.e; }), ['page_view', 'quote_shown']);
  var [a, b] = sent(w);
  assert.equal(a.sid, b.sid, 'the session id is kept in memory');
  assert.equal(a.vid, b.vid);
});

test('loading the tag twice keeps the first instance', async function () {
  var w = fakeWindow();
  var first = start(w, SRC, '__PARCOURS_CONFIG__');
  assert.equal(start(w, SRC, '__PARCOURS_CONFIG__'), first);
  await w.tick();
  assert.equal(sent(w).length, 1);
});
