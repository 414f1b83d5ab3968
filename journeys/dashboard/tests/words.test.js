import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leverName, setLang, tn } from '../src/i18n.js';
import { CONFIG } from '../src/config.js';
import { personValue } from '../src/panels/journeys.js';
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

test('a lever is shown under its word in the page\'s language, another lever under its id', () => {
  setLang('fr');
  assert.equal(leverName('search_organic'), 'Recherche naturelle');
  assert.equal(leverName('call_centre'), 'Centre d’appels');
  assert.equal(leverName('podcast'), 'podcast'); // not one of the example plan's: as the plan writes it
  assert.equal(leverName('toString'), 'toString');
  setLang('en');
  assert.equal(leverName('search_paid'), 'Paid search');
});

test('a person\'s journey shows the plan\'s step labels, pages counted in words, statuses in the language', () => {
  CONFIG.forms = [{ id: 'moto_quote', label: 'Devis', steps: [{ id: 'vehicle', label: 'Votre moto' }, { id: 'rider', label: 'rider' }] }];
  setLang('fr');
  assert.equal(personValue({ kind: 'step' }, 'detail', 'vehicle'), 'Votre moto');
  assert.equal(personValue({ kind: 'abandon' }, 'detail', 'rider'), 'rider');
  assert.equal(personValue({ kind: 'step' }, 'detail', 'gone_step'), 'gone_step');
  assert.equal(personValue({ kind: 'visit' }, 'detail', '1 page(s), mobile'), '1 page, Mobile');
  assert.equal(personValue({ kind: 'visit' }, 'detail', '3 page(s), desktop'), '3 pages, Ordinateur');
  assert.equal(personValue({ kind: 'visit' }, 'lever', 'search_organic'), 'Recherche naturelle');
  assert.equal(personValue({ kind: 'sale' }, 'status', 'signed'), 'signée');
  assert.equal(personValue({ kind: 'sale' }, 'status', 'cancelled'), 'annulée');
  assert.equal(personValue({ kind: 'sale' }, 'status', 'withdrawn'), 'rétractée');
  assert.equal(personValue({ kind: 'sale' }, 'status', 'pending'), 'pending');
  assert.equal(personValue({ kind: 'sale' }, 'detail', 'moto MA-2026-0104001, cancelled 2026-10-12').replace(/\s/g, ' '),
    'moto MA-2026-0104001, annulée le 12 oct. 2026');
  assert.equal(personValue({ kind: 'quote' }, 'detail', 'Q-ABC123'), 'Q-ABC123');
  setLang('en');
  assert.equal(personValue({ kind: 'visit' }, 'detail', '1 page(s), mobile'), '1 page, Mobile');
  assert.equal(personValue({ kind: 'visit' }, 'detail', '2 page(s), tablet'), '2 pages, Tablet');
  assert.equal(personValue({ kind: 'sale' }, 'status', 'signed'), 'signed');
});
