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
