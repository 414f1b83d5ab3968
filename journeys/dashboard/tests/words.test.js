import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLang, tn } from '../src/i18n.js';
import '../src/panels/index.js'; // each panel adds its own words

test('a count of steps is singular for one, plural for more, in each language', () => {
  setLang('en');
  assert.equal(tn('journeys.result', 1), 'Journey of the person found (1 step)');
  assert.equal(tn('journeys.result', 2), 'Journey of the person found (2 steps)');
  assert.equal(tn('journeys.result', 12), 'Journey of the person found (12 steps)');
  setLang('fr');
  assert.equal(tn('journeys.result', 1), 'Parcours de la personne trouvée (1 étape)');
  assert.equal(tn('journeys.result', 2), 'Parcours de la personne trouvée (2 étapes)');
  // French counts below 2 as one: "0 perdu", "1 perdu", "2 perdus".
  assert.equal(tn('funnel.lost', 1), 'perdu');
  assert.equal(tn('funnel.lost', 0), 'perdu');
  assert.equal(tn('funnel.lost', 3), 'perdus');
  setLang('en');
  assert.equal(tn('funnel.lost', 1), 'lost');
});
