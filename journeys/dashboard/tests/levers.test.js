import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortened } from '../src/panels/levers.js';

test('a bar\'s name longer than half its chart is cut short at its end, whole when it fits', () => {
  assert.equal(shortened('newsletter-rentree · E-mail', 600), 'newsletter-rentree · E-mail');
  var cut = shortened('newsletter-rentree · E-mail', 170);
  assert.ok(cut.startsWith('newsletter-rentree') && cut.endsWith('…') && cut.length <= Math.floor((170 - 16) / 7), cut);
});
