import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../src/tracker.js';
import { fakeWindow, installStub, installOldStub, sent, delivered } from './fake-dom.js';

/** Each event once, as the collector keeps them (a resend carries the same id). */
var once = function (events) { return events.filter(function (e, i) { return events.findIndex(function (x) { return x.id == e.id; }) == i; }); };

var SRC = 'https://collector.example.com/t.js';
var PLAN = { b: 'courtier', p: { courtier: 30 }, f: { moto_quote: ['vehicle', 'rider', 'coverage', 'contact'] } };
var names = function (events) { return events.map(function (e) { return e.e; }); };

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

test('a step is stamped when called, not when sent: sequence, client time, time since the previous step', async function (t) {
  var clock = 1763822400000;
  t.mock.method(Date, 'now', function () { return clock; });
  var w = fakeWindow({ href: 'https://www.motoassur.fr/devis/?x=1', referrer: 'https://www.google.fr/' });
  start(w, SRC, '__PARCOURS_CONFIG__');
  clock += 1000;
  w.parcours('step', 'moto_quote', 'vehicle');
  clock += 2500;
  w.parcours('step', 'moto_quote', 'rider');
  clock += 1000;
  var props = { phone: '0612345678', quote_id: 'Q-1' };
  w.parcours('submit', 'moto_quote', props);
  props.phone = 'changed after the call';
  clock += 5000;
  await w.tick();
  var batch = w.fetches[0].data;
  assert.equal(batch.sent, 1763822409500);
  var [page, step, step2, submit] = batch.events;
  assert.deepEqual([page.t, step.t, step2.t, submit.t], [1763822400000, 1763822401000, 1763822403500, 1763822404500]);
  assert.deepEqual([page.q, step.q, step2.q, submit.q], [1, 2, 3, 4]);
  assert.deepEqual([step.dt, step2.dt], [1000, 2500], 'the first step counts from the page load');
  assert.deepEqual(step, {
    id: step.id, e: 'form_step', t: 1763822401000, q: 2, vid: page.vid, sid: page.sid,
    url: 'https://www.motoassur.fr/devis/?x=1', ref: 'https://www.google.fr/', f: 'moto_quote', s: 'vehicle', dt: 1000
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
    w.parcours('consent', 'maybe');
    w.parcours('track', 'quote_shown');
    w.fire('pagehide');
    w.fire('click', { closest: function () { throw new Error('odd target'); } });
  });
  await w.tick();
  assert.deepEqual(names(delivered(w)), ['page_view', 'quote_shown']);
  var [a, b] = delivered(w);
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

test('identify sends its properties as an identify event', async function () {
  var w = fakeWindow();
  start(w, SRC, PLAN)('identify', { phone: '0612345678' });
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.p]; }), [['page_view', undefined], ['identify', { phone: '0612345678' }]]);
});

test('page views: automatic unless disabled, and on History API navigation', async function () {
  var w = fakeWindow({ href: 'https://app.motoassur.fr/' });
  start(w, SRC, PLAN);
  w.history.pushState({}, '', '/devis');
  w.history.pushState({}, '', '/devis'); // same URL: not a new page
  w.history.replaceState({}, '', '/devis?tab=2'); // a replace is not a navigation
  w.location.href = 'https://app.motoassur.fr/';
  w.fire('popstate');
  w.location.href = 'https://app.motoassur.fr/#faq'; // an in-page anchor: Chrome fires popstate, not a new page
  w.fire('popstate');
  w.location.href = 'https://app.motoassur.fr/#/devis'; // a hash route is
  w.fire('popstate');
  w.location.href = 'https://app.motoassur.fr/#!/devis/2';
  w.fire('popstate');
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.url]; }), [
    ['page_view', 'https://app.motoassur.fr/'],
    ['page_view', 'https://app.motoassur.fr/devis'],
    ['page_view', 'https://app.motoassur.fr/'],
    ['page_view', 'https://app.motoassur.fr/#/devis'],
    ['page_view', 'https://app.motoassur.fr/#!/devis/2']
  ]);

  var w2 = fakeWindow();
  var p = start(w2, SRC, PLAN, false);
  w2.history.pushState({}, '', '/devis');
  await w2.tick();
  assert.equal(w2.fetches.length, 0, 'data-auto="false": no page view by itself');
  p('page');
  await w2.tick();
  assert.deepEqual(names(sent(w2)), ['page_view']);
});

test('leaving with a form started but not submitted sends form_abandon with the step reached, by beacon', async function () {
  var w = fakeWindow();
  var p = start(w, SRC, PLAN);
  p('step', 'moto_quote', 'vehicle');
  await w.tick();
  w.document.visibilityState = 'hidden';
  w.fire('visibilitychange');
  w.fire('pagehide');
  await w.tick();
  var abandon = w.beacons.flatMap(function (b) { return b.data.events; });
  assert.deepEqual(abandon.map(function (e) { return [e.e, e.f, e.s]; }), [['form_abandon', 'moto_quote', 'rider']],
    'once, with the step after the last completed one');

  // Coming back and going further, then leaving again: a new abandon at the new step.
  p('step', 'moto_quote', 'rider');
  w.fire('pagehide');
  // (The first abandon, handed to a beacon, is sent again with the next step: the collector keeps it once.)
  assert.deepEqual(once(delivered(w)).filter(function (e) { return e.e == 'form_abandon'; }).map(function (e) { return e.s; }), ['rider', 'coverage']);
});

test('the plan\'s phone and pii properties (`n`) keep their events out of storage: the rider step, the submit, identify', async function () {
  var w = fakeWindow({ respond: function () { return 503; } });
  var p = start(w, SRC, Object.assign({ n: ['phone'] }, PLAN));
  p('step', 'moto_quote', 'vehicle');
  p('step', 'moto_quote', 'rider', { phone: '06 12 34 56 78', callback_consent: true });
  p('submit', 'moto_quote', { quote_id: 'Q-1', phone: '0612345678' });
  p('identify', { phone: '+33612345678' });
  await w.tick();
  w.fire('pagehide');
  assert.deepEqual(names(once(delivered(w))), ['page_view', 'form_step', 'form_step', 'form_submit', 'identify']);
  var queue = w.localStorage.getItem('_pcq');
  assert.deepEqual(names(JSON.parse(queue)), ['page_view', 'form_step'], 'the page view and the vehicle step, as before');
  assert.doesNotMatch(queue, /12\D?34\D?56\D?78/);
});

test('no form_abandon after a submit, nor without a started form', async function () {
  var w = fakeWindow();
  var p = start(w, SRC, PLAN);
  w.fire('pagehide');
  p('step', 'moto_quote', 'vehicle');
  p('step', 'moto_quote', 'contact');
  p('submit', 'moto_quote', { quote_id: 'Q-1' });
  w.fire('pagehide');
  await w.tick();
  assert.deepEqual(names(once(delivered(w))), ['page_view', 'form_step', 'form_step', 'form_submit']);
});

test('links to the plan\'s other sites carry the visitor and session ids; the landing page adopts them and cleans its URL', async function () {
  var w = fakeWindow({ href: 'https://www.motoassur.fr/' });
  var plan = Object.assign({ s: ['www.motoassur.fr', 'pro.motoassur.fr'] }, PLAN);
  start(w, SRC, plan);
  var other = { hostname: 'pro.motoassur.fr', href: 'https://pro.motoassur.fr/devis?a=1' };
  var same = { hostname: 'www.motoassur.fr', href: 'https://www.motoassur.fr/devis' };
  var foreign = { hostname: 'www.example.com', href: 'https://www.example.com/' };
  [other, same, foreign].forEach(function (a) { w.fire('click', { closest: function () { return a; } }); });
  await w.tick();
  var vid = sent(w)[0].vid, sid = sent(w)[0].sid;
  assert.match(other.href, new RegExp('^https://pro\\.motoassur\\.fr/devis\\?a=1&_pcl=' + vid + '\\.\\d{13}\\.' + sid + '$'));
  assert.equal(same.href, 'https://www.motoassur.fr/devis');
  assert.equal(foreign.href, 'https://www.example.com/');

  var w2 = fakeWindow({ href: other.href, referrer: 'https://www.motoassur.fr/' });
  start(w2, SRC, plan);
  await w2.tick();
  assert.equal(sent(w2)[0].vid, vid);
  assert.equal(sent(w2)[0].sid, sid, 'the hop is the same visit: its landing stays the first site\'s');
  assert.equal(sent(w2)[0].url, 'https://pro.motoassur.fr/devis?a=1', 'the id is removed from the address bar');
  assert.equal(w2.location.href, 'https://pro.motoassur.fr/devis?a=1');
});

test('calls queued before the tag loaded keep the time they were made at, and the time on step counts from it', async function (t) {
  var clock = 1763822400000;
  t.mock.method(Date, 'now', function () { return clock; });
  // The page started loading 500 ms before the first call; the tag arrives 2.5 s after it.
  var w = fakeWindow({ pageAge: 3000 });
  installStub(w)('step', 'moto_quote', 'vehicle');
  clock += 1000;
  w.parcours('step', 'moto_quote', 'rider');
  clock += 1500;
  start(w, SRC, PLAN);
  clock += 200;
  w.parcours('step', 'moto_quote', 'coverage');
  await w.tick();
  var ev = sent(w);
  assert.deepEqual(ev.map(function (e) { return [e.e, e.s, e.q, e.t - 1763822400000, e.dt]; }), [
    ['page_view', undefined, 1, -500, undefined],
    ['form_step', 'vehicle', 2, 0, 500],
    ['form_step', 'rider', 3, 1000, 1000],
    ['form_step', 'coverage', 4, 2700, 1700]
  ], 'page_view dates from when the page started loading; each step from its own call');
});

test('an older snippet, without call times: queued calls take the time the tag loaded', async function (t) {
  var clock = 1763822400000;
  t.mock.method(Date, 'now', function () { return clock; });
  var w = fakeWindow();
  installOldStub(w)('step', 'moto_quote', 'vehicle');
  clock += 2500;
  start(w, SRC, PLAN);
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.t - 1763822400000, e.dt]; }), [['page_view', 2500, undefined], ['form_step', 2500, 0]]);
});

test('a queued time outside the page (a broken stub, a clock set back) is kept within it', async function (t) {
  var clock = 1763822400000;
  t.mock.method(Date, 'now', function () { return clock; });
  var w = fakeWindow({ pageAge: 1000 });
  var stub = installStub(w);
  stub('track', 'a');
  stub('track', 'b');
  stub('track', 'c');
  stub.q[0].t = 5; // long before the page
  stub.q[1].t = clock + 9e9; // in the future
  stub.q[2].t = 'soon';
  start(w, SRC, PLAN);
  await w.tick();
  assert.deepEqual(sent(w).map(function (e) { return [e.e, e.t - clock]; }), [['page_view', -1000], ['a', -1000], ['b', 0], ['c', 0]]);
});

test('form_abandon names the first step of the plan not completed, whatever the order steps were completed in', async function () {
  var cases = [
    [['vehicle', 'coverage'], 'rider'],
    [['rider', 'vehicle'], 'coverage'],
    [['coverage'], 'vehicle'],
    [['vehicle', 'rider', 'coverage', 'contact'], 'contact']
  ];
  for (var [steps, expected] of cases) {
    var w = fakeWindow();
    var p = start(w, SRC, PLAN);
    steps.forEach(function (s) { p('step', 'moto_quote', s); });
    w.fire('pagehide');
    var abandon = delivered(w).filter(function (e) { return e.e == 'form_abandon'; });
    assert.deepEqual(abandon.map(function (e) { return e.s; }), [expected], steps.join(', '));
  }
});

test('an identical submit of the same form is sent once per page; another submit is sent', async function () {
  var w = fakeWindow();
  var stub = installStub(w);
  stub('submit', 'moto_quote', { quote_id: 'Q-1' });
  stub('submit', 'moto_quote', { quote_id: 'Q-1' }); // a double click before the tag loaded
  var p = start(w, SRC, PLAN);
  p('submit', 'moto_quote', { quote_id: 'Q-1' });
  p('submit', 'moto_quote', { quote_id: 'Q-2' });
  p('submit', 'other_form', { quote_id: 'Q-1' });
  p('submit', 'moto_quote');
  p('submit', 'moto_quote');
  await w.tick();
  assert.deepEqual(sent(w).filter(function (e) { return e.e == 'form_submit'; }).map(function (e) { return [e.f, e.p]; }), [
    ['moto_quote', { quote_id: 'Q-1' }], ['moto_quote', { quote_id: 'Q-2' }], ['other_form', { quote_id: 'Q-1' }], ['moto_quote', undefined]
  ]);
});

test('without localStorage, the session and the landing parameters follow the visitor in first-party cookies', async function () {
  var jar = new Map(), plan = Object.assign({}, PLAN, { p: { courtier: 30, utm_source: 30, gclid: 90 } });
  var w1 = fakeWindow({ href: 'https://www.motoassur.fr/?courtier=X77&utm_source=google&gclid=abc', noLocalStorage: true, jar: jar });
  start(w1, SRC, plan);
  await w1.tick();
  assert.deepEqual(Array.from(w1.document.jar.keys()).sort(), ['_pcc', '_pcid', '_pcs']);
  assert.deepEqual(w1.document.cookieAttrs._pcs.slice(0, 1), ['max-age=1800']);
  assert.deepEqual(w1.document.cookieAttrs._pcc.slice(0, 1), ['max-age=34214400']);

  var w2 = fakeWindow({ href: 'https://www.motoassur.fr/devis/', noLocalStorage: true, jar: w1.document.jar });
  start(w2, SRC, plan)('submit', 'moto_quote', { quote_id: 'Q-1' });
  await w2.tick();
  var landing = sent(w1)[0], submit = sent(w2)[1];
  assert.equal(submit.e, 'form_submit');
  assert.deepEqual(submit.c, { courtier: 'X77', utm_source: 'google', gclid: 'abc' });
  assert.equal(submit.sid, landing.sid);
  assert.equal(submit.vid, landing.vid);
});

test('with cookies and storage both blocked, nothing persists and nothing throws: each page is on its own', async function () {
  var w1 = fakeWindow({ href: 'https://www.motoassur.fr/?courtier=X77', blocked: true });
  start(w1, SRC, PLAN);
  var w2 = fakeWindow({ blocked: true });
  start(w2, SRC, PLAN)('step', 'moto_quote', 'vehicle');
  await w1.tick();
  await w2.tick();
  assert.deepEqual(sent(w1)[0].c, { courtier: 'X77' });
  assert.equal(sent(w2)[1].c, undefined);
  assert.notEqual(sent(w2)[1].sid, sent(w1)[0].sid);
});

test('add-ons the plan uses are started with the window and a mark function', async function () {
  var calls = [];
  var addon = function (w, mark) {
    calls.push(w);
    mark('moto_quote', 'vehicle');
    mark('moto_quote', 'vehicle'); // once per page
    mark('moto_quote');
  };
  var w = fakeWindow();
  var p = start(w, SRC, Object.assign({ a: [addon, 'not a function', function () { throw new Error('broken add-on'); }] }, PLAN));
  p('step', 'moto_quote', 'rider');
  w.fire('pagehide');
  await w.tick();
  assert.deepEqual(calls, [w]);
  assert.deepEqual(names(delivered(w)), ['page_view', 'form_step', 'form_step'], 'no form_abandon: the add-on ended the form');
  assert.deepEqual(delivered(w).map(function (e) { return e.s; }).slice(1), ['vehicle', 'rider']);
});
