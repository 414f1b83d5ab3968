import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visible } from '../src/format.js';

test('a value that would show nothing, or another value, is written as it is', () => {
  assert.equal(visible('moto-spring'), 'moto-spring');
  assert.equal(visible('moto spring'), 'moto spring'); // a space inside shows
  assert.equal(visible('\x07\x08'), '[U+0007][U+0008]');
  assert.equal(visible('  '), '␣␣');
  assert.equal(visible('\u00a0B042 '), '␣B042␣');
  assert.equal(visible('\u200b'), '[U+200B]');
  assert.equal(visible('\u202egnirps-otom'), '[U+202E]gnirps-otom'); // not "moto-spring"
  assert.equal(visible('a\tb\nc'), 'a[U+0009]b[U+000A]c');
  assert.equal(visible('\u3164'), '[U+3164]');
  assert.equal(visible('é🏍'), 'é🏍');
});
