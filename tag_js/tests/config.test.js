import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, endpoint, DEFAULTS } from '../src/config.js';

test('the placeholder left as a string means defaults', function () {
  assert.deepEqual(resolveConfig('__PARCOURS_CONFIG__'), DEFAULTS);
});

test('an injected plan overrides the defaults key by key', function () {
  var c = resolveConfig({ v: '2026.11.1', b: 'partner', p: { partner: 30 }, f: { moto_quote: ['vehicle'] } });
  assert.equal(c.v, '2026.11.1');
  assert.deepEqual([c.x, c.s, c.a, c.n], [[], [], [], []], 'keys the compiler leaves out (their defaults) get safe ones');
  assert.notEqual(c.c, 'required');
  assert.equal(c.b, 'partner');
  assert.deepEqual(c.p, { partner: 30 });
  assert.equal(c.e, 'collect');
  assert.deepEqual(resolveConfig({}).p, DEFAULTS.p);
});

test('the endpoint is resolved against the script URL', function () {
  var cfg = resolveConfig();
  var page = 'https://www.motoassur.fr/devis/';
  assert.equal(endpoint(cfg, 'https://collector.example.com/t.js', page), 'https://collector.example.com/collect');
  // A site proxying the tag under /p/ posts through the same proxy.
  assert.equal(endpoint(cfg, 'https://www.motoassur.fr/p/t.js?v=3', page), 'https://www.motoassur.fr/p/collect');
  assert.equal(endpoint(resolveConfig({ e: '/api/collect' }), 'https://c.example.com/p/t.js', page), 'https://c.example.com/api/collect');
  assert.equal(endpoint(resolveConfig({ e: 'https://other.example.com/c' }), 'https://c.example.com/t.js', page), 'https://other.example.com/c');
  // Unknown script URL (tag inlined in the page): relative to the page.
  assert.equal(endpoint(cfg, null, page), 'https://www.motoassur.fr/devis/collect');
});
