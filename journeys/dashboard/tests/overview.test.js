import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLang } from '../src/i18n.js';
import { compared, hasData, todayAt } from '../src/panels/overview.js';
import { dayAxis, fmt } from '../src/format.js';

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

test('a figure with a fraction shows two decimals, a whole one none', () => {
  setLang('fr');
  assert.deepEqual([384.2, 367.68, 295, 0.5, 49.999].map((v) => fmt(v, 'decimal')), ['384,20', '367,68', '295', '0,50', '50']);
  setLang('en');
  assert.equal(fmt(1.5), '1.50');
});

/** Every ISO day from `from` to `to`, both included. */
function days(from, to) {
  var out = [];
  for (var ms = Date.parse(from); ms <= Date.parse(to); ms += 86400000) out.push(new Date(ms).toISOString().slice(0, 10));
  return out;
}

test('the daily chart names the year when its days span more than one calendar year', () => {
  setLang('en');
  var short = dayAxis(days('2025-12-20', '2026-01-10'));
  assert.equal(short.ticks, null); // a few weeks: any day, as the chart spreads them
  assert.equal(short.labels[0], '20 Dec 2025');
  assert.equal(short.labels.at(-1), '10 Jan 2026');
  var within = dayAxis(days('2026-11-01', '2026-11-30'));
  assert.equal(within.labels[0], '1 Nov');
  setLang('fr');
  assert.equal(dayAxis(days('2025-12-31', '2026-01-01')).labels.join(' | '), '31 déc. 2025 | 1 janv. 2026');
});

test('a long period names months, a very long one years, where evenly spread days read "1 Jan, 1 Nov, 2 Sept"', () => {
  setLang('en');
  var year = dayAxis(days('2026-01-01', '2026-12-31'));
  assert.equal(year.labels[40], '10 Feb');
  assert.deepEqual([...year.ticks.keys()].map((i) => days('2026-01-01', '2026-12-31')[i]),
    ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2026-${m}-01`));
  assert.equal(year.ticks.get(0), 'Jan');
  var two = dayAxis(days('2025-06-15', '2026-06-14'));
  assert.equal(two.ticks.has(0), false); // half a month: not named
  assert.equal(two.ticks.get(16), 'Jul 2025'); // 1 July 2025
  assert.equal([...two.ticks.values()].at(-1), 'Jun 2026');
  var all = days('1970-01-01', '2099-12-31'), long = dayAxis(all);
  assert.equal(long.ticks.size, 130);
  assert.equal(long.ticks.get(0), '1970');
  assert.equal(long.ticks.get(all.indexOf('2026-01-01')), '2026');
  assert.equal(long.labels[all.indexOf('2026-09-02')], '2 Sept 2026');
});

test("today's day, not over, is found in a daily series by its UTC day", () => {
  var now = Date.parse('2026-11-28T00:19:00Z');
  assert.equal(todayAt(['2026-11-26', '2026-11-27', '2026-11-28'], now), 2);
  assert.equal(todayAt(['2026-11-26T00:00:00', '2026-11-27T00:00:00'], now), -1);
  assert.equal(todayAt([], now), -1);
});
