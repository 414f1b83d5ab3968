import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PALETTE, SALE, contrast, inkOn } from '../src/colour.js';

test('a Sankey node\'s label is written in the ink that reads on its colour (4.5:1 at least), black included', () => {
  for (var c of [...PALETTE, SALE]) {
    var ink = inkOn(c);
    assert.ok(contrast(ink, c) >= 4.5, `${ink} on ${c}: ${contrast(ink, c).toFixed(2)}`);
  }
  assert.equal(inkOn('#000000'), '#ffffff');
  assert.equal(inkOn('#F0E442'), '#000000');
  assert.equal(contrast('#000000', '#ffffff').toFixed(0), '21');
});
