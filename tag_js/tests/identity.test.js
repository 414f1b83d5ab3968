import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuid, identity } from '../src/identity.js';
import { storage } from '../src/storage.js';
import { fakeWindow, fakeStorage } from './fake-dom.js';

var V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuid v4 with randomUUID, getRandomValues only, or no crypto', function () {
  var noRandomUUID = { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) };
  for (var c of [globalThis.crypto, noRandomUUID, undefined]) {
    var a = uuid(c), b = uuid(c);
    assert.match(a, V4);
    assert.notEqual(a, b);
  }
});

test('the visitor id is kept in a 13-month first-party cookie and mirrored in localStorage', function () {
  var w = fakeWindow();
  var v = identity(storage(w), w.crypto).v;
  assert.match(v, V4);
  assert.equal(w.document.jar.get('_pcid'), v);
  assert.deepEqual(w.document.cookieAttrs._pcid, ['max-age=34214400', 'path=/', 'SameSite=Lax']);
  assert.equal(JSON.parse(w.localStorage.getItem('_pcid')), v);

  // Next page load, same cookie.
  var w2 = fakeWindow({ jar: w.document.jar });
  assert.equal(identity(storage(w2), w2.crypto).v, v);
  // Cookie cleared, localStorage kept.
  var w3 = fakeWindow({ storage: w.localStorage });
  assert.equal(identity(storage(w3), w3.crypto).v, v);
  assert.equal(w3.document.jar.get('_pcid'), v, 'the cookie is restored');
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
