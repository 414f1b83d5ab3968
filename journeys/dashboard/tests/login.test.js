import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPanel } from '../src/login.js';

test('the login page carries a panel of the link into next, and nothing else', () => {
  assert.equal(withPanel('/dashboard?period=7d', '#attribution'), '/dashboard?period=7d#attribution');
  assert.equal(withPanel('/dashboard#quality', '#attribution'), '/dashboard#attribution'); // the address's, not next's
  assert.equal(withPanel('/dashboard#quality', ''), '/dashboard#quality'); // after a failed attempt: next has it
  for (var hostile of ['#"><img src=x onerror=alert(1)>', '#//evil.example', '#attribution?x=1', '#', '#1st', `#${'a'.repeat(65)}`]) {
    assert.equal(withPanel('/dashboard', hostile), '/dashboard', hostile);
  }
});
