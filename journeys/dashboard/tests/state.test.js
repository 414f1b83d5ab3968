import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceName, setLang } from '../src/i18n.js';
import { DEVICES, read } from '../src/state.js';

test('a link\'s device is one the reports know, else no device filter (the API refused it on every panel)', () => {
  assert.deepEqual(DEVICES, ['desktop', 'mobile', 'tablet', 'other']);
  assert.equal(read('?device=other').device, 'other'); // a device the reports count: kept, and offered
  assert.equal(read('?device=tablet').device, 'tablet');
  assert.equal(read('?device=foo').device, '');
  assert.equal(read('?device=bot').device, ''); // bots are left out of every report
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
