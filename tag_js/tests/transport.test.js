import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transport } from '../src/transport.js';
import { fakeWindow } from './fake-dom.js';

var URL_ = 'https://c.example.com/collect';
var now = function () { return 42; };

test('events are batched and posted as text/plain with keepalive, without credentials', async function () {
  var w = fakeWindow();
  var send = transport(w, URL_, now);
  send({ e: 'a' });
  send({ e: 'b' });
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
  assert.deepEqual(data, { sent: 42, events: [{ e: 'a' }, { e: 'b' }] });
});

test('network failures and 5xx are retried with backoff, then given up', async function () {
  var statuses = [503, 'network', 500, 204];
  var w = fakeWindow({
    respond: function () {
      var s = statuses.shift();
      if (s == 'network') throw new TypeError('Failed to fetch');
      return s;
    }
  });
  var send = transport(w, URL_, now);
  send({ e: 'a' });
  var delays = await w.tick();
  assert.deepEqual(delays, [0, 1000, 2000, 4000]);
  assert.equal(w.fetches.length, 4);
  w.fetches.forEach(function (f) { assert.deepEqual(f.data.events, [{ e: 'a' }]); });

  var w2 = fakeWindow({ respond: function () { return 502; } });
  transport(w2, URL_, now)({ e: 'a' });
  await w2.tick();
  assert.equal(w2.fetches.length, 5, 'one attempt and four retries');
});

test('a 4xx is not retried', async function () {
  var w = fakeWindow({ respond: function () { return 400; } });
  var send = transport(w, URL_, now);
  send({ e: 'a' });
  await w.tick();
  send({ e: 'b' });
  await w.tick();
  assert.deepEqual(w.fetches.map(function (f) { return f.data.events[0].e; }), ['a', 'b']);
});

test('what is still queued when the page is hidden goes by sendBeacon, once', async function () {
  var w = fakeWindow();
  var send = transport(w, URL_, now);
  send({ e: 'a' });
  w.document.visibilityState = 'hidden';
  w.fire('visibilitychange');
  w.fire('pagehide');
  await w.tick();
  assert.equal(w.beacons.length, 1);
  assert.equal(w.beacons[0].url, URL_);
  assert.deepEqual(w.beacons[0].data, { sent: 42, events: [{ e: 'a' }] });
  assert.equal(w.fetches.length, 0);
});

test('when sendBeacon refuses, the events stay queued for fetch', async function () {
  var w = fakeWindow({ beacon: false });
  transport(w, URL_, now)({ e: 'a' });
  w.fire('pagehide');
  await w.tick();
  assert.equal(w.fetches.length, 1);
});

test('a missing fetch or sendBeacon never throws', async function () {
  var w = fakeWindow();
  delete w.fetch;
  delete w.navigator.sendBeacon;
  var send = transport(w, URL_, now);
  send({ e: 'a' });
  assert.doesNotThrow(function () { w.fire('pagehide'); });
  await assert.doesNotReject(w.tick());
});
