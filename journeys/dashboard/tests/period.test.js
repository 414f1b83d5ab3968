import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datesProblem, range } from '../src/period.js';
import './dom-stub.js';
import { pickLang, setLang } from '../src/i18n.js';
import { periodText } from '../src/format.js';
import { hashed } from '../scripts/build.js';

var NOW = Date.parse('2026-11-25T15:30:00Z');

test('the last 7 days end today and the API period ends at tomorrow midnight', () => {
  assert.deepEqual(range({ period: '7d' }, NOW), { first: '2026-11-19', last: '2026-11-25', from: '2026-11-19', to: '2026-11-26' });
});

test('last month is the whole previous calendar month, across a year end too', () => {
  assert.deepEqual(range({ period: 'lastmonth' }, NOW), { first: '2026-10-01', last: '2026-10-31', from: '2026-10-01', to: '2026-11-01' });
  assert.equal(range({ period: 'lastmonth' }, Date.parse('2027-01-10T00:00:00Z')).first, '2026-12-01');
});

test('custom dates include the last day', () => {
  assert.deepEqual(range({ period: 'custom', from: '2026-02-01', to: '2026-02-28' }, NOW),
    { first: '2026-02-01', last: '2026-02-28', from: '2026-02-01', to: '2026-03-01' });
});

test('custom dates apply only as two days in order', () => {
  assert.equal(datesProblem('2026-11-01', '2026-11-20'), null);
  assert.equal(datesProblem('2026-11-20', '2026-11-20'), null);
  assert.equal(datesProblem('2026-11-20', '2026-11-01'), 'dates.order');
  assert.equal(datesProblem('', '2026-11-01'), 'dates.missing');
  assert.equal(datesProblem('1969-06-01', '2026-11-01'), 'dates.range'); // the API refuses it: every panel failed
  assert.equal(datesProblem('2026-11-01', '2100-01-01'), 'dates.range');
  assert.equal(datesProblem('1970-01-01', '2099-12-31'), null);
  assert.equal(datesProblem('2026-02-30', '2026-03-01'), 'dates.missing');
});

test('the language: the URL, else the browser, else French', () => {
  assert.equal(pickLang('en', ['fr-FR']), 'en');
  assert.equal(pickLang('', ['de-DE', 'en-US']), 'en');
  assert.equal(pickLang('xx', ['de-DE']), 'fr');
});

test('asset names change with their content', () => {
  assert.match(hashed('dashboard.js', 'a'), /^dashboard\.[0-9a-f]{12}\.js$/);
  assert.notEqual(hashed('dashboard.js', 'a'), hashed('dashboard.js', 'b'));
});

test('a period is said in the page language, whatever the browser formats its date inputs in', () => {
  // ICU's spacing around the dash varies with its version (thin spaces, none in one month): compared without it.
  var said = (a, b) => periodText(a, b).replace(/\s*–\s*/g, ' – ').replace(/\s/g, ' ');
  setLang('fr');
  assert.equal(said('2026-10-01', '2026-11-15'), '1 oct. – 15 nov. 2026');
  assert.equal(said('2026-10-30', '2026-11-28'), '30 oct. – 28 nov. 2026');
  assert.equal(said('2025-12-20', '2026-01-05'), '20 déc. 2025 – 5 janv. 2026');
  setLang('en');
  assert.equal(said('2026-10-01', '2026-10-15'), '1 – 15 Oct 2026');
  assert.equal(said('2026-11-28', '2026-11-28'), '28 Nov 2026');
  assert.equal(periodText('2026-11-20', '2026-11-01'), ''); // the wrong way round: nothing to say
  assert.equal(periodText('2026-02-30x', '2026-03-01'), '');
});
