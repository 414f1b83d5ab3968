import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROKER_KEY, heatRows } from '../src/heat.js';

test('the heat map keeps each broker id beside a lever named broker', () => {
  var rows = [
    { broker_id: 'B017', lever: 'broker', conversions: 9.083333 },
    { broker_id: 'B017', lever: 'display', conversions: 5.5 },
    { broker_id: 'CRC-201', lever: '', conversions: 43 },
  ];
  var heat = heatRows(rows);
  assert.deepEqual(heat.levers, ['', 'broker', 'display']);
  assert.deepEqual(heat.rows.map((r) => r[BROKER_KEY]), ['B017', 'CRC-201']);
  assert.equal(heat.rows[0].broker, 9.083333);
  assert.equal(heat.rows[1].display, null);
});

test('the heat map orders its levers by the names the page shows, the sales with no online touch first', () => {
  var rows = [
    { broker_id: 'B042', lever: 'search_paid', conversions: 2 },
    { broker_id: 'B042', lever: 'affiliation', conversions: 1 },
    { broker_id: 'B042', lever: 'direct', conversions: 1 },
    { broker_id: 'B042', lever: '', conversions: 3 },
    { broker_id: 'B042', lever: 'email', conversions: 1 },
  ];
  var fr = { search_paid: 'Recherche payante', affiliation: 'Affiliation', direct: 'Accès direct', email: 'E-mail' };
  // By id the French page read Affiliation, Accès direct, E-mail, Recherche payante: not in any order it shows.
  assert.deepEqual(heatRows(rows, (id) => fr[id] || id, 'fr').levers, ['', 'direct', 'affiliation', 'email', 'search_paid']);
  assert.deepEqual(heatRows(rows).levers, ['', 'affiliation', 'direct', 'email', 'search_paid']);
});
