import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLang, strings } from '../src/i18n.js';
import '../src/panels/index.js'; // each panel adds its own words
import { breakdownLabel } from '../src/panels/funnel.js';

// Words French and English write alike: any other string the same in both is one left untranslated.
var ALIKE = ['Attribution', 'Mobile', 'Leads', 'Segment', 'Abandons'];

test('every string of the page is in both languages, and the French one is French', () => {
  var en = strings('en'), fr = strings('fr');
  assert.deepEqual(Object.keys(en).filter((k) => !(k in fr)), []);
  // The match report's reasons are keyed by the API's English words: t() shows the key itself in English.
  assert.deepEqual(Object.keys(fr).filter((k) => !(k in en) && !k.includes(' ')), []);
  assert.deepEqual(Object.keys(en).filter((k) => en[k] == fr[k] && !ALIKE.includes(en[k])).map((k) => `${k}: ${en[k]}`), []);
});

test('the funnel names a breakdown by a filter word, or the plan property made readable', () => {
  setLang('fr');
  assert.equal(breakdownLabel('device'), 'Appareil');
  assert.equal(breakdownLabel('ad_consent'), 'Ad consent');
  assert.equal(breakdownLabel('slot'), 'Slot');
  setLang('en');
  assert.equal(breakdownLabel('device'), 'Device');
});
