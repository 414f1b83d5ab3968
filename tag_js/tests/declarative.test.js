// The declarative helper (an add-on) against the fake DOM: real attribute
// queries, rendering and mutation observers, no tracker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watch } from '../src/declarative.js';
import { start } from '../src/tracker.js';
import { fakeWindow, delivered } from './fake-dom.js';

var settle = () => new Promise((r) => setImmediate(r)); // mutation records are delivered in a microtask

/** The form of docs/tag.md in `w`'s document: four steps and a done message, only the first shown. */
function quoteForm(w) {
  var h = w.document.h;
  var steps = ['vehicle', 'rider', 'coverage', 'contact'].map((s, i) => h('section', i ? { 'data-parcours-step': s, hidden: '' } : { 'data-parcours-step': s }));
  var done = h('div', { 'data-parcours-done': '', hidden: '' });
  var form = h('div', { 'data-parcours-form': 'moto_quote' }, ...steps, done);
  return { form, steps, done, show: (el) => [...steps, done].forEach((x) => (x.hidden = x != el)) };
}

function watching(w) {
  var marks = [];
  watch(w, (f, s) => marks.push(s ? [f, s] : [f]));
  return marks;
}

test('a step becoming visible completes the one shown before it; going back records nothing', async function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  var marks = watching(w);
  assert.deepEqual(marks, []);
  q.show(q.steps[1]);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle']]);
  q.show(q.steps[0]);
  await settle();
  q.show(q.steps[1]);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle'], ['moto_quote', 'vehicle']], 'the helper reports each move forward; the tag keeps one per page');
  q.show(q.steps[2]);
  await settle();
  q.show(q.done);
  await settle();
  assert.deepEqual(marks.slice(2), [['moto_quote', 'rider'], ['moto_quote', 'coverage'], ['moto_quote']]);
});

test('a class that hides (display: none) counts like the hidden attribute', async function () {
  var w = fakeWindow(), h = w.document.h;
  var a = h('section', { 'data-parcours-step': 'vehicle' }), b = h('section', { 'data-parcours-step': 'rider', class: 'off' });
  w.document.body.appendChild(h('form', { 'data-parcours-form': 'moto_quote' }, a, b));
  var marks = watching(w);
  a.className = 'off';
  b.className = '';
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle']]);
});

test('a form inserted later (a single-page site) is watched too', async function () {
  var w = fakeWindow(), marks = watching(w), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  await settle();
  q.show(q.steps[1]);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle']]);
});

test('two steps swapped within the same task count as one move', async function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  var marks = watching(w);
  q.show(q.steps[1]);
  q.show(q.steps[2]);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle']]);
});

test('attributes other than hidden, class and style are not watched', async function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  watching(w);
  q.steps[0].setAttribute('aria-busy', 'true');
  assert.deepEqual(w.document.observers.map((o) => o.records.length), [0]);
  q.steps[0].setAttribute('style', 'color: red');
  assert.deepEqual(w.document.observers.map((o) => o.records.length), [1]);
});

test('a page without MutationObserver gets the first scan and no error', function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  delete w.MutationObserver;
  assert.throws(() => watch(w, () => {}), TypeError, 'the tag calls add-ons inside a guard');
});

test('as the tag\'s add-on: each step once per page, the done message ends the form (no abandon)', async function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  start(w, 'https://c.example.com/t.js', { f: { moto_quote: ['vehicle', 'rider', 'coverage', 'contact'] }, a: [watch] });
  for (var el of [q.steps[1], q.steps[0], q.steps[1], q.steps[2]]) {
    q.show(el);
    await settle();
  }
  w.fire('pagehide');
  await w.tick();
  assert.deepEqual(delivered(w).map((e) => [e.e, e.s]), [
    ['page_view', undefined], ['form_step', 'vehicle'], ['form_step', 'rider'], ['form_abandon', 'coverage']
  ]);

  var w2 = fakeWindow(), q2 = quoteForm(w2);
  w2.document.body.appendChild(q2.form);
  start(w2, 'https://c.example.com/t.js', { f: { moto_quote: ['vehicle', 'rider', 'coverage', 'contact'] }, a: [watch] });
  q2.show(q2.steps[3]);
  await settle();
  q2.show(q2.done);
  await settle();
  w2.fire('pagehide');
  await w2.tick();
  assert.deepEqual(delivered(w2).map((e) => [e.e, e.s]), [['page_view', undefined], ['form_step', 'vehicle'], ['form_step', 'contact']]);
});

test('a step re-rendered by a framework (a new node of the same step) is no move; the next step still is', async function () {
  var w = fakeWindow(), q = quoteForm(w);
  w.document.body.appendChild(q.form);
  var marks = watching(w);
  // React or Vue replacing the visible step's node with a new one: before, an arbitrary order was read off the
  // detached node, and the step counted as completed (then the abandon named the next one).
  var rerender = (i, hidden) => {
    var old = q.steps[i], fresh = w.document.h('section', { 'data-parcours-step': old.getAttribute('data-parcours-step'), ...(hidden ? { hidden: '' } : {}) });
    q.form.children[q.form.children.indexOf(old)] = fresh;
    fresh.parentNode = q.form;
    old.parentNode = null;
    q.steps[i] = fresh;
    w.document.mutated({ type: 'childList', target: q.form });
  };
  q.show(q.steps[1]);
  await settle();
  rerender(1);
  await settle();
  rerender(1);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle']]);
  rerender(1, true); // re-rendered hidden as the next step shows, in one task
  q.show(q.steps[2]);
  await settle();
  assert.deepEqual(marks, [['moto_quote', 'vehicle'], ['moto_quote', 'rider']]);
});
