import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transport, KEY, MAX_QUEUE } from '../src/transport.js';
import { storage } from '../src/storage.js';
import { fakeWindow, fakeStorage } from './fake-dom.js';

var URL_ = 'https://c.example.com/collect';
var now = function () { return 42; };
var ev = function (n) { return { id: 'id-' + n, e: 'e' + n }; };

function open(w, pii) {
  return transport(w, URL_, now, storage(w), pii || []);
}

function kept(w) {
  return (JSON.parse(w.localStorage.getItem(KEY)) || []).map(function (e) { return e.id; });
}

test('events are batched and posted as text/plain with keepalive, without credentials', async function () {
  var w = fakeWindow();
  var out = open(w);
  out.add(ev(1));
  out.add(ev(2));
  assert.equal(w.fetches.length, 0, 'sending is asynchronous');
  await w.tick();
  assert.equal(w.fetches.length, 1);
  var { url, init, data } = w.fetches[0];
  assert.equal(url, URL_);
  assert.deepEqual(Object.keys(init).sort(), ['body', 'credentials', 'keepalive', 'method']);
  assert.equal(init.method, 'POST');
  assert.equal(init.keepalive, true);
  assert.equal(init.credentials, 'omit');
  assert.equal(typeof init.body, 'string', 'a string body is sent as text/plain: no pre-flight');
  assert.deepEqual(data, { sent: 42, events: [ev(1), ev(2)] });
  assert.deepEqual(kept(w), [], 'acknowledged events leave storage');
});

test('network failures, 5xx and 429 are retried with backoff; the batch waits in storage meanwhile', async function () {
  var statuses = [503, 'network', 429, 500, 204];
  var inStorage = [];
  var w = fakeWindow({
    respond: function () {
      inStorage.push(kept(w));
      var s = statuses.shift();
      if (s == 'network') throw new TypeError('Failed to fetch');
      return s;
    }
  });
  open(w).add(ev(1));
  var delays = await w.tick();
  assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000]);
  assert.equal(w.fetches.length, 5);
  w.fetches.forEach(function (f) { assert.deepEqual(f.data.events, [ev(1)]); });
  inStorage.forEach(function (ids) { assert.deepEqual(ids, ['id-1'], 'stored before each attempt'); });
  assert.deepEqual(kept(w), []);
});

test('after the last retry the page gives up but keeps the events for the next page', async function () {
  var ls = fakeStorage();
  var w = fakeWindow({ storage: ls, respond: function () { return 502; } });
  open(w).add(ev(1));
  var delays = await w.tick();
  assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 16000]);
  assert.equal(w.fetches.length, 6, 'one attempt and five retries');
  assert.deepEqual(kept(w), ['id-1']);

  // Next page: sent first, before anything new.
  var w2 = fakeWindow({ storage: ls });
  var out2 = open(w2);
  out2.add(ev(2));
  await w2.tick();
  assert.deepEqual(w2.fetches[0].data.events, [ev(1), ev(2)]);
  assert.deepEqual(kept(w2), []);
});

test('400, 413 and 422 are never retried: the batch is dropped', async function () {
  for (var status of [400, 413, 422]) {
    var w = fakeWindow({ respond: function () { return status; } });
    var out = open(w);
    out.add(ev(1));
    await w.tick();
    out.add(ev(2));
    await w.tick();
    assert.deepEqual(w.fetches.map(function (f) { return f.data.events[0].id; }), ['id-1', 'id-2'], String(status));
    assert.deepEqual(kept(w), []);
  }
});

test('the queue and its stored copy are bounded: the oldest events go first', async function () {
  var w = fakeWindow({ respond: function () { throw new TypeError('offline'); } });
  var out = open(w);
  for (var i = 1; i <= MAX_QUEUE + 30; i++) out.add(ev(i));
  await w.tick();
  var ids = kept(w);
  assert.equal(ids.length, MAX_QUEUE);
  assert.equal(ids[0], 'id-31');
  assert.equal(ids[MAX_QUEUE - 1], 'id-' + (MAX_QUEUE + 30));
  assert.ok(w.fetches.every(function (f) { return f.data.events.length <= 20; }), 'batches of at most 20');
});

test('what is still queued when the page goes away leaves by sendBeacon, with a stored copy', async function () {
  var w = fakeWindow();
  var out = open(w);
  out.add(ev(1));
  out.flushNow();
  out.flushNow();
  await w.tick();
  assert.equal(w.beacons.length, 1, 'once');
  assert.equal(w.beacons[0].url, URL_);
  assert.deepEqual(w.beacons[0].data, { sent: 42, events: [ev(1)] });
  assert.equal(w.fetches.length, 0);
  // A beacon's delivery is never confirmed: the next page sends it again (the collector dedups by id).
  assert.deepEqual(kept(w), ['id-1']);
});

test('a visitor who comes back after a beacon: what it carried is kept stored and sent again with the next event', async function () {
  // Offline, the page hidden: the beacon is taken (true) and fails without a word; the visitor comes back, online.
  var w = fakeWindow();
  var out = open(w);
  out.add(ev(1));
  out.flushNow();
  await w.tick();
  out.add(ev(2)); // the next step: the stored copy was overwritten with it alone, the beacon's events lost
  await w.tick();
  assert.deepEqual(w.fetches.map(function (f) { return f.data.events.map(function (e) { return e.id; }); }), [['id-1', 'id-2']]);
  assert.deepEqual(kept(w), [], 'acknowledged: gone from storage');
  // Hidden twice without a new event in between: a beacon each time only for what is new.
  out.add(ev(3));
  out.flushNow();
  out.flushNow();
  assert.equal(w.beacons.length, 2);
  assert.deepEqual(kept(w), ['id-3']);
});

test('when sendBeacon refuses, the events stay queued for fetch', async function () {
  var w = fakeWindow({ beacon: false });
  var out = open(w);
  out.add(ev(1));
  out.flushNow();
  await w.tick();
  assert.equal(w.fetches.length, 1);
});

test('blocked storage, a missing fetch or sendBeacon never throw', async function () {
  var w = fakeWindow({ blocked: true });
  delete w.fetch;
  delete w.navigator.sendBeacon;
  var out = open(w);
  assert.doesNotThrow(function () { out.add(ev(1)); out.flushNow(); });
  await assert.doesNotReject(w.tick());
  var w2 = fakeWindow({ blocked: true });
  var out2 = open(w2);
  out2.add(ev(1));
  await w2.tick();
  assert.deepEqual(w2.fetches[0].data.events, [ev(1)], 'sent from memory');
});

// The rider step of the quote form, carrying the phone the plan declares `type: phone, pii: true`.
var PII = ['phone', 'email'];
var rider = { id: 'id-rider', e: 'form_step', p: { phone: '06 12 34 56 78', callback_consent: true } };
var raw = function (w) { return String(w.localStorage.getItem(KEY)); };

test('an event carrying a phone is sent but never written to storage; the others keep their stored copy', async function () {
  var inStorage = [];
  var w = fakeWindow({ respond: function () { inStorage.push(raw(w)); return 204; } });
  var out = open(w, PII);
  out.add(ev(1));
  out.add(rider);
  out.add(ev(2));
  await w.tick();
  assert.deepEqual(w.fetches[0].data.events, [ev(1), rider, ev(2)]);
  assert.equal(inStorage.length, 1);
  assert.deepEqual(JSON.parse(inStorage[0]).map(function (e) { return e.id; }), ['id-1', 'id-2'], 'the others stored while in flight');
  assert.doesNotMatch(inStorage.join(), /12 34 56 78/);
  assert.deepEqual(kept(w), []);
});

test('an event carrying a phone is retried from memory after failures, and left nowhere when the page gives up', async function () {
  var inStorage = [];
  var w = fakeWindow({ respond: function () { inStorage.push(raw(w)); throw new TypeError('Failed to fetch'); } });
  var out = open(w, PII);
  out.add(rider);
  out.add(ev(1));
  await w.tick();
  assert.equal(w.fetches.length, 6, 'one attempt and five retries');
  w.fetches.forEach(function (f) { assert.deepEqual(f.data.events, [rider, ev(1)]); });
  assert.doesNotMatch(inStorage.join(), /12 34 56 78/);
  assert.deepEqual(kept(w), ['id-1'], 'the other event waits for the next page, as before');
});

test('an event carrying a phone leaves by beacon when the page goes away, without a stored copy', async function () {
  var w = fakeWindow();
  var out = open(w, PII);
  out.add(ev(1));
  out.add(rider);
  out.flushNow();
  assert.deepEqual(w.beacons[0].data.events, [ev(1), rider]);
  assert.deepEqual(kept(w), ['id-1']);
  // The visitor comes back: the beacon's events go again with the next one (the phone from memory).
  out.add(ev(2));
  assert.deepEqual(kept(w), ['id-1']);
  await w.tick();
  assert.deepEqual(w.fetches[0].data.events, [ev(1), rider, ev(2)]);
  assert.doesNotMatch(raw(w), /12 34 56 78/);
});

test('only a value counts: an empty or absent phone, or any other property, leaves the event stored', async function () {
  var w = fakeWindow({ respond: function () { return 503; } });
  var out = open(w, PII);
  out.add({ id: 'empty', p: { phone: '', email: null } });
  out.add({ id: 'other', p: { licence_years: 3 } });
  out.add({ id: 'email', p: { email: 'a@b.fr' } });
  await w.tick();
  assert.deepEqual(kept(w), ['empty', 'other']);
});

test('a phone stored by an older tag is rewritten out at the next save', async function () {
  var ls = fakeStorage();
  ls.setItem(KEY, JSON.stringify([rider, ev(1)]));
  var w = fakeWindow({ storage: ls, respond: function () { return 503; } });
  open(w, PII);
  await w.tick();
  assert.deepEqual(w.fetches[0].data.events, [rider, ev(1)], 'still sent');
  assert.deepEqual(kept(w), ['id-1']);
});
