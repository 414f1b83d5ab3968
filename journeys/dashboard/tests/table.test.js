import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leverName, setLang } from '../src/i18n.js';
import { sortRows, withCents } from '../src/table.js';
import { fmt } from '../src/format.js';

test('a column of amounts shows cents on every line once one has them', () => {
  var columns = [{ key: 'path', kind: 'text' }, { key: 'revenue', kind: 'money' }, { key: 'cost', kind: 'money' }];
  var rows = [{ path: 'a', revenue: 104, cost: 20 }, { path: 'b', revenue: 213.85, cost: 30 }, { path: 'c', revenue: null, cost: 0 }];
  assert.deepEqual(withCents(columns, rows).map((c) => c.kind), ['text', 'money2', 'money']);
  assert.deepEqual(withCents(columns, []).map((c) => c.kind), ['text', 'money', 'money']);
});

test('a column of figures with a fraction shows two decimals on every line, a whole one beside them too', () => {
  var columns = [{ key: 'sales', kind: 'decimal' }, { key: 'visits', kind: 'decimal' }];
  var rows = [{ sales: 10, visits: 3 }, { sales: 12.47, visits: 4 }];
  assert.deepEqual(withCents(columns, rows).map((c) => c.kind), ['decimal2', 'decimal']);
  setLang('fr');
  assert.equal(fmt(rows[0].sales, withCents(columns, rows)[0].kind).replace(/\s/g, ' '), '10,00');
});

test('a column shown under words (levers by name) sorts by what is shown, in the page\'s language', () => {
  setLang('fr');
  var columns = [{ key: 'lever', kind: 'text', text: leverName }, { key: 'visits', kind: 'count' }];
  var rows = ['display', 'broker', 'direct', 'call_centre', 'affiliation'].map((lever, i) => ({ lever, visits: i }));
  var names = (sorted) => sorted.map((r) => leverName(r.lever));
  assert.deepEqual(names(sortRows(rows, columns, 'lever')),
    ['Accès direct', 'Affiliation', 'Centre d’appels', 'Courtiers', 'Publicité display']);
  assert.deepEqual(names(sortRows(rows, columns, '-lever')),
    ['Publicité display', 'Courtiers', 'Centre d’appels', 'Affiliation', 'Accès direct']);
  assert.deepEqual(sortRows(rows, columns, '-visits').map((r) => r.visits), [4, 3, 2, 1, 0]);
  assert.equal(sortRows(rows, columns, 'nope'), rows);
  setLang('en');
});
