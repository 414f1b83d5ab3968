import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLang } from '../src/i18n.js';
import { compared, hasData } from '../src/panels/overview.js';
import { fmt } from '../src/format.js';

// The overview report's answer for a period without data (compare=true): zeros and nulls, one row.
var NONE = { period: '2026-11-20', visits: 0, visits_previous: 0, online_sales: 0, online_sales_previous: 0,
  revenue: 0, revenue_previous: 0, conversion_rate: null, conversion_rate_previous: null };

test('a period whose figures are all 0 or null has no data, whichever period the other is', () => {
  assert.equal(hasData(NONE), false);
  assert.equal(hasData(NONE, true), false);
  assert.equal(hasData({}), false);
  var before = { ...NONE, visits_previous: 42 };
  assert.equal(hasData(before), false);
  assert.equal(hasData(before, true), true);
  assert.equal(hasData({ ...NONE, offline_sales: 2 }), true);
});

test('0 before is a figure; "no earlier data" only when the previous period has none', () => {
  setLang('en');
  assert.deepEqual(compared(0, 0, true, 'decimal'), { delta: 0, text: '±0.0% vs previous period' });
  assert.deepEqual(compared(3, 0, true, 'decimal'), { delta: null, text: '0 in the previous period' });
  assert.deepEqual(compared(0.02, null, true, 'rate'), { delta: null, text: 'no figure in the previous period' });
  assert.deepEqual(compared(12, 10, true, 'count'), { delta: 0.2, text: '+20.0% vs previous period' });
  assert.deepEqual(compared(5, 0, false, 'count'), { delta: null, text: 'no earlier data' });
  setLang('fr');
  assert.equal(compared(3, 0, true, 'money').text.replace(/\s/g, ' '), '0 € sur la période précédente'); // Intl spaces: no-break
});

test('an amount shows its cents when it has some, whole euros otherwise', () => {
  setLang('fr');
  var plain = (v) => fmt(v, 'money').replace(/\s/g, ' ');
  assert.equal(plain(1650.5), '1 650,50 €'); // it read 1 651 €, not the report's figure
  assert.equal(plain(1650), '1 650 €');
  assert.equal(plain(0.07), '0,07 €');
});
