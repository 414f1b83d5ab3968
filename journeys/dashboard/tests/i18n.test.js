import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceName, setLang, strings, t } from '../src/i18n.js';
import '../src/panels/index.js'; // each panel adds its own words
import { breakdownLabel } from '../src/panels/funnel.js';
import { CONFIG } from '../src/config.js';

// Words French and English write alike: any other string the same in both is one left untranslated.
var ALIKE = ['Attribution', 'Format', 'Mobile', 'Leads', 'Segment', 'Abandons', 'Affiliation', '{n} pages', '{n} page'];

test('every string of the page is in both languages, and the French one is French', () => {
  var en = strings('en'), fr = strings('fr');
  assert.deepEqual(Object.keys(en).filter((k) => !(k in fr)), []);
  // The match report's reasons are keyed by the API's English words: t() shows the key itself in English.
  assert.deepEqual(Object.keys(fr).filter((k) => !(k in en) && !k.includes(' ')), []);
  assert.deepEqual(Object.keys(en).filter((k) => en[k] == fr[k] && !ALIKE.includes(en[k])).map((k) => `${k}: ${en[k]}`), []);
});

test('the funnel names a breakdown by a filter word, else the plan property\'s label, else its id as the plan writes it', () => {
  CONFIG.breakdowns = [{ id: 'variant', label: 'Variante du formulaire' }, { id: 'slot', label: '' }];
  setLang('fr');
  assert.equal(breakdownLabel('variant'), 'Variante du formulaire');
  assert.equal(breakdownLabel('device'), 'Appareil');
  // No label in the plan: its id, not English words made from it ("Ad consent") on the French page.
  assert.equal(breakdownLabel('ad_consent'), 'ad_consent');
  assert.equal(breakdownLabel('slot'), 'slot');
  setLang('en');
  assert.equal(breakdownLabel('device'), 'Device');
  assert.equal(breakdownLabel('ad_consent'), 'ad_consent');
});

test('a device is shown under its words in the page\'s language, as the filter offers it', () => {
  setLang('fr');
  assert.equal(deviceName('desktop'), 'Ordinateur');
  assert.equal(deviceName('other'), 'Autre appareil');
  assert.equal(deviceName('toaster'), 'toaster');
  setLang('en');
  assert.equal(deviceName('other'), 'Other device');
  assert.equal(deviceName('mobile'), 'Mobile');
});

test('the funnel\'s table says what each of its columns counts: visitors, sessions, events', () => {
  setLang('en');
  assert.match(t('funnel.caption', { form: 'Devis' }), /^Funnel of the form Devis, step by step\. .*count visitors.*count sessions.*events/);
  setLang('fr');
  assert.match(t('funnel.caption', { form: 'Devis' }), /^Entonnoir du formulaire Devis, étape par étape\. .*visiteurs.*sessions.*envois/);
});
