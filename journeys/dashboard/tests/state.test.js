import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEVICES, read } from '../src/state.js';

test('a link\'s device is one the reports know, else no device filter (the API refused it on every panel)', () => {
  assert.deepEqual(DEVICES, ['desktop', 'mobile', 'tablet', 'other']);
  assert.equal(read('?device=other').device, 'other'); // a device the reports count: kept, and offered
  assert.equal(read('?device=tablet').device, 'tablet');
  assert.equal(read('?device=foo').device, '');
  assert.equal(read('?device=bot').device, ''); // bots are left out of every report
});
