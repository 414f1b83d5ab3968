import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../src/api.js';
import { errorText } from '../src/errors.js';
import { setLang } from '../src/i18n.js';

// The API's refusal of a period the wrong way round, as collector/errors.py writes it.
var order = () => new ApiError(400, 'from (2026-10-02T00:00:00Z) must be before to (2026-10-01T00:00:00Z)', 'period_order',
  { from: '2026-10-02T00:00:00Z', to: '2026-10-01T00:00:00Z' });

test('a refusal the page knows by its code is said in the page\'s language, its values as the page writes them', () => {
  setLang('fr');
  assert.equal(errorText(order()), 'Le début de la période (2 oct. 2026) doit précéder sa fin (1 oct. 2026).');
  var choice = new ApiError(400, 'model: "newest" is not known; use one of: linear, markov', 'choice_unknown',
    { option: 'model', value: 'newest', allowed: ['linear', 'markov'] });
  assert.equal(errorText(choice), 'Modèle d’attribution : « newest » n’est pas une valeur connue (valeurs possibles : linear, markov).');
  setLang('en');
  assert.equal(errorText(order()), 'The start of the period (2 Oct 2026) must be before its end (1 Oct 2026).');
});

test('a refusal without a code, or with one the page does not know, is the API\'s message as sent', () => {
  setLang('fr');
  assert.equal(errorText(new ApiError(503, 'ClickHouse is out of reach')), 'ClickHouse is out of reach');
  assert.equal(errorText(new ApiError(400, 'something new', 'a_later_code', { option: 'x' })), 'something new');
  assert.equal(errorText(new ApiError(401, 'the dashboard session has ended', 'session_ended')), 'Votre session a pris fin.');
  assert.equal(errorText(new TypeError('Failed to fetch')), 'Le collecteur est injoignable (réseau ou serveur arrêté).');
});
