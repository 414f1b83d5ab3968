import './dom-stub.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callReasonsCsv } from '../src/panels/quality.js';
import { csvText } from '../src/table.js';

test('rows of JSON as CSV: the keys, then the values as sent, quoted where they must be', () => {
  assert.equal(csvText(['a', 'b'], [{ a: 'x, "y"', b: 0.25 }, { a: null, b: 3 }]), 'a,b\n"x, ""y""",0.25\n,3\n');
});

test('the calls\' unmatched reasons: every reason of the match report, 0 included, under the API\'s words', () => {
  var calls = { calls: 5, unmatched: 1, by_reason: { ambiguous_lease: 0, anonymous_caller: 1 } };
  assert.equal(callReasonsCsv(calls), 'reason,count\nambiguous_lease,0\nanonymous_caller,1\n');
});

test('text a spreadsheet would run as a formula stays text, as in the API\'s CSV; numbers stay numbers', () => {
  assert.equal(csvText(['c', 'n'], [{ c: '=HYPERLINK("http://evil.example","x")', n: -3 }, { c: '@SUM(A1)', n: 0 }]),
    'c,n\n"\'=HYPERLINK(""http://evil.example"",""x"")",-3\n\'@SUM(A1),0\n');
  assert.equal(csvText(['c'], [{ c: '-12.5' }, { c: '+33612345678' }, { c: '-1+A1' }]), "c\n-12.5\n+33612345678\n'-1+A1\n");
});

test('rows of JSON as CSV for Excel set to French: a BOM, `;` between cells, decimal commas, text as it is', () => {
  assert.equal(csvText(['a', 'b'], [{ a: 'x; y', b: 0.25 }, { a: 'v1.2', b: 3 }], true), '\ufeffa;b\n"x; y";0,25\nv1.2;3\n');
  var calls = { calls: 5, unmatched: 1, by_reason: { ambiguous_lease: 0, anonymous_caller: 1 } };
  assert.equal(callReasonsCsv(calls, true), '\ufeffreason;count\nambiguous_lease;0\nanonymous_caller;1\n');
});

test('a text holding the other list separator is quoted: Excel splits a CSV on its own, and a formula began a cell', () => {
  assert.equal(csvText(['l', 'c', 'n'], [{ l: 'display', c: 'x;=1+1', n: 0.5 }]), 'l,c,n\ndisplay,"x;=1+1",0.5\n');
  assert.equal(csvText(['l', 'c', 'n'], [{ l: 'display', c: 'x,=1+1', n: 0.5 }], true), '\ufeffl;c;n\ndisplay;"x,=1+1";0,5\n');
});
