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

var FROM = 'https://www.motoassur.fr/devis/', HOSTS = ['www.motoassur.fr', 'www.motoassur-pro.fr'];

var S = '7c1e9d2a-3b4f-4e5a-8c6d-1f2e3a4b5c6d'; // the session id a link carries

test('a decorated link carries the visitor and session ids for two minutes', function () {
  var v = '0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d', t = 1763822400000;
  var href = decorate('https://www.motoassur-pro.fr/devis/?a=1#top', v + '.' + t + '.' + S);
  assert.equal(href, 'https://www.motoassur-pro.fr/devis/?a=1&_pcl=' + v + '.' + t + '.' + S + '#top');
  assert.equal(decorate(href), 'https://www.motoassur-pro.fr/devis/?a=1#top', 'without a link: the address cleaned');
  var search = new URL(href).search;
  assert.deepEqual(linked(search, t + 119e3, FROM, HOSTS), [v, String(t), S]);
  assert.equal(linked(search, t + 121e3, FROM, HOSTS), false, 'a stale link (bookmarked, shared) is ignored');
  assert.equal(linked('?_pcl=garbage', t, FROM, HOSTS), false);
  assert.equal(linked('', t, FROM, HOSTS), false);
  // The linked ids win over the cookie and the other site's session, and are stored.
  var w = fakeWindow({ jar: new Map([['_pcid', 'old']]) });
  w.localStorage.setItem('_pcs', JSON.stringify({ i: 'e1e2e3e4-0000-4000-8000-000000000000', a: t }));
  var ids = identity(storage(w), w.crypto, linked(search, t + 30e3, FROM, HOSTS));
  assert.equal(ids.v, v);
  assert.equal(w.document.jar.get('_pcid'), v);
  assert.equal(ids.s(t + 30e3), S, 'the hop between two sites is one visit');
  assert.equal(ids.s(t + 60e3), S);
  assert.notEqual(ids.s(t + 60e3 + 18e5), S, 'which ends after 30 minutes without activity, as any');
});

test('a link from the future is accepted within the same 2 minutes (a clock corrected in between), no further', function () {
  var v = '0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d', t = 1763822400000;
  var at = function (ms) { return linked('?_pcl=' + v + '.' + (t + ms) + '.' + S, t, FROM, HOSTS)[0]; };
  assert.equal(at(60e3), v);
  assert.equal(at(119e3), v);
  assert.equal(at(121e3), undefined);
  assert.equal(at(365 * 864e5), undefined);
  assert.equal(linked('?_pcl=attacker-id.99999999999999.' + S, t, FROM, HOSTS), false, 'issue 16: adopted forever before');
  assert.equal(linked('?_pcl=' + v + '.99999999999999.' + S, t, FROM, HOSTS), false);
});

test('only ids of the shape the tag makes are adopted', function () {
  var t = 1763822400000, v = '0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d';
  var bad = [
    'attacker-id', v.toUpperCase(), v + 'a', v.slice(1), v.replace(/-/g, ''), 'g' + v.slice(1),
    v.replace('-', '_'), '', ' ' + v, v + ';path=/', v.slice(0, 20) + '%3B' + v.slice(23),
    '<script>alert(1)</script>', '../../etc', v + '.' + t // the id part then holds a dot
  ];
  bad.forEach(function (id) {
    assert.equal(linked('?_pcl=' + encodeURIComponent(id) + '.' + t + '.' + S, t, FROM, HOSTS), false, id);
    if (id.indexOf('.') < 0) assert.equal(linked('?_pcl=' + v + '.' + t + '.' + encodeURIComponent(id), t, FROM, HOSTS), false, 'session ' + id);
  });
  assert.equal(linked('?_pcl=' + v + '.' + t + '.' + S + '&_pcl=other.' + t, t, FROM, HOSTS)[0], v, 'the first value counts');
  assert.equal(linked('?_pcl=' + v + '.soon.' + S, t, FROM, HOSTS), false);
  assert.equal(linked('?_pcl=' + v + '.' + t + '.', t, FROM, HOSTS), false);
  assert.equal(linked('?_pcl=' + v + '.%20' + t + '.' + S, t, FROM, HOSTS), false);
  assert.equal(linked('?_pcl=' + v + '.0x' + t.toString(16) + '.' + S, t, FROM, HOSTS), false);
  assert.equal(linked('?_pcl=' + v, t, FROM, HOSTS), false, 'no time');
  assert.equal(linked('?_pcl=' + v + '.' + t, t, FROM, HOSTS), false, 'no session (a link of the tag before November 2026)');
});

test('a link is adopted only when followed from one of the plan\'s sites (no redirector stamping fresh links)', function () {
  var v = '0b6a4c2e-8f4d-4c1a-9e77-5d2f3a1b9c0d', t = 1763822400000, search = '?_pcl=' + v + '.' + t + '.' + S;
  assert.equal(linked(search, t, 'https://www.motoassur.fr/', HOSTS)[0], v);
  assert.equal(linked(search, t, 'https://evil.example/redirect?to=motoassur', HOSTS), false);
  assert.equal(linked(search, t, '', HOSTS), false, 'no referrer: typed, bookmarked, or a no-referrer redirect');
  assert.equal(linked(search, t, 'not a url', HOSTS), false);
  assert.equal(linked(search, t, FROM, []), false, 'a plan without sites links nothing');
});

test('a visitor id cookie that the tag could not have written is replaced, and what is written is encoded', function () {
  var w = fakeWindow({ jar: new Map([['_pcid', 'x;evil=1']]) });
  var v = identity(storage(w), w.crypto).v;
  assert.match(v, V4);
  assert.equal(w.document.jar.get('_pcid'), v);
  var s = storage(fakeWindow());
  var w2 = fakeWindow();
  storage(w2).setCookie('_pcx', 'a;b=c d%', 60);
  assert.equal(w2.document.jar.get('_pcx'), 'a%3Bb%3Dc%20d%25');
  assert.equal(storage(w2).getCookie('_pcx'), 'a;b=c d%');
  assert.ok(s);
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
