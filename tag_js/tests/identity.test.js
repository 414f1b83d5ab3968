import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuid, identity, linked, decorate } from '../src/identity.js';
import { storage } from '../src/storage.js';
import { fakeWindow, fakeStorage } from './fake-dom.js';

var V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuid v4 with randomUUID or, outside secure contexts, getRandomValues', function () {
  var noRandomUUID = { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) };
  for (var c of [globalThis.crypto, noRandomUUID]) {
    var a = uuid(c), b = uuid(c);
    assert.match(a, V4);
    assert.notEqual(a, b);
  }
});

test('the visitor id is kept in a 13-month first-party cookie', function () {
  var w = fakeWindow();
  var v = identity(storage(w), w.crypto).v;
  assert.match(v, V4);
  assert.equal(w.document.jar.get('_pcid'), v);
  assert.deepEqual(w.document.cookieAttrs._pcid, ['max-age=34214400', 'path=/', 'SameSite=Lax']);

  // Next page load, same cookie.
  var w2 = fakeWindow({ jar: w.document.jar });
  assert.equal(identity(storage(w2), w2.crypto).v, v);
  // Cookies cleared: a new visitor.
  var w3 = fakeWindow({ storage: w.localStorage });
  assert.notEqual(identity(storage(w3), w3.crypto).v, v);
});

test('a decorated link carries the visitor id for two minutes', function () {
  var v = '0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d', t = 1763822400000;
  var href = decorate('https://www.motoassur-pro.fr/devis/?a=1#top', v, t);
  assert.equal(href, 'https://www.motoassur-pro.fr/devis/?a=1&_pcl=' + v + '.' + t + '#top');
  var search = new URL(href).search;
  assert.equal(linked(search, t + 119e3), v);
  assert.equal(linked(search, t + 121e3), false, 'a stale link (bookmarked, shared) is ignored');
  assert.equal(linked('?_pcl=garbage', t), false);
  assert.equal(linked('', t), false);
  // The linked id wins over the cookie and is stored.
  var w = fakeWindow({ jar: new Map([['_pcid', 'old']]) });
  assert.equal(identity(storage(w), w.crypto, v).v, v);
  assert.equal(w.document.jar.get('_pcid'), v);
});

test('the session is renewed after 30 minutes without activity', function () {
  var ls = fakeStorage();
  var w = fakeWindow({ storage: ls });
  var ids = identity(storage(w), w.crypto);
  var t = 1763822400000;
  var s1 = ids.s(t);
  assert.equal(ids.s(t + 29 * 60e3), s1);
  assert.equal(ids.s(t + 58 * 60e3), s1, 'activity extends the session');
  // Another page load shares the session through storage.
  var w2 = fakeWindow({ storage: ls });
  assert.equal(identity(storage(w2), w2.crypto).s(t + 60 * 60e3), s1);
  var s2 = ids.s(t + 91 * 60e3);
  assert.notEqual(s2, s1);
  assert.match(s2, V4);
});
