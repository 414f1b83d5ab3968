import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCents } from '../src/table.js';

test('a column of amounts shows cents on every line once one has them', () => {
  var columns = [{ key: 'path', kind: 'text' }, { key: 'revenue', kind: 'money' }, { key: 'cost', kind: 'money' }];
  var rows = [{ path: 'a', revenue: 104, cost: 20 }, { path: 'b', revenue: 213.85, cost: 30 }, { path: 'c', revenue: null, cost: 0 }];
  assert.deepEqual(withCents(columns, rows).map((c) => c.kind), ['text', 'money2', 'money']);
  assert.deepEqual(withCents(columns, []).map((c) => c.kind), ['text', 'money', 'money']);
});
