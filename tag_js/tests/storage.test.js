import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storage, attempt } from '../src/storage.js';
import { fakeWindow } from './fake-dom.js';

test('values go to localStorage as JSON while it works; no cookie then', function () {
  var w = fakeWindow(), s = storage(w);
  s.write('_pcs', { i: 'x', a: 1 }, 1800);
  assert.equal(w.localStorage.getItem('_pcs'), '{"i":"x","a":1}');
  assert.deepEqual(s.read('_pcs'), { i: 'x', a: 1 });
  assert.deepEqual(Array.from(w.document.jar.keys()), []);
});

test('where localStorage throws, a key given a lifetime falls back to a first-party cookie, encoded', function () {
  var w = fakeWindow({ noLocalStorage: true }), s = storage(w);
  s.write('_pcc', { courtier: ['B;42=x', 1] }, 3600);
  s.write('_pcq', [{ id: 1 }]); // no lifetime: too big for a cookie, kept in memory by its owner
  assert.deepEqual(Array.from(w.document.jar.keys()), ['_pcc']);
  assert.equal(w.document.jar.get('_pcc'), encodeURIComponent('{"courtier":["B;42=x",1]}'));
  assert.deepEqual(w.document.cookieAttrs._pcc, ['max-age=3600', 'path=/', 'SameSite=Lax']);
  assert.deepEqual(s.read('_pcc'), { courtier: ['B;42=x', 1] });
  assert.equal(s.read('_pcq'), undefined);
});

test('a key absent from a working localStorage is looked up in the cookie (setItem refused, getItem works)', function () {
  var w = fakeWindow(), s = storage(w);
  w.localStorage.setItem = function () { throw new Error('QuotaExceededError'); };
  s.write('_pcok', 1, 60, 1);
  assert.equal(w.document.jar.get('_pcok'), '1');
  assert.equal(s.read('_pcok'), 1);
});

test('nothing is written while off, except what is forced (the consent answer); deleting always works', function () {
  var w = fakeWindow({ noLocalStorage: true }), s = storage(w);
  s.on = 0;
  s.write('_pcs', { i: 'x' }, 1800);
  s.setCookie('_pcid', 'v', 60);
  assert.deepEqual(Array.from(w.document.jar.keys()), []);
  s.write('_pcok', 0, 60, 1);
  assert.deepEqual(Array.from(w.document.jar.keys()), ['_pcok']);
  s.clear(['_pcok']);
  assert.deepEqual(Array.from(w.document.jar.keys()), []);
});

test('clear forgets keys in both places', function () {
  var w = fakeWindow(), s = storage(w);
  s.write('_pcs', 1, 60);
  s.setCookie('_pcid', 'v', 60);
  s.setCookie('_pcs', '2', 60);
  s.clear(['_pcs', '_pcid']);
  assert.equal(w.localStorage.getItem('_pcs'), null);
  assert.deepEqual(Array.from(w.document.jar.keys()), []);
});

test('garbage and hostile values read as nothing; blocked everything never throws', function () {
  var w = fakeWindow(), s = storage(w);
  w.localStorage.setItem('_pcs', '{not json');
  w.document.jar.set('_pcc', '%E0%A4%A'); // malformed percent-encoding
  assert.equal(s.read('_pcs'), undefined);
  assert.equal(s.read('_pcc'), undefined);
  assert.equal(s.getCookie('_pcc'), undefined);
  var b = storage(fakeWindow({ blocked: true }));
  assert.doesNotThrow(function () {
    b.write('_pcs', 1, 60);
    b.setCookie('_pcid', 'v', 60);
    b.clear(['_pcs', '_pcid']);
  });
  assert.equal(b.read('_pcs'), undefined);
  assert.equal(attempt(function () { throw new Error('x'); }), undefined);
});
