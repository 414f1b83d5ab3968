// Declarative helper for forms whose code cannot be edited, an add-on: served
// only to sites whose plan has a form with `markup: true` (scripts/build.js).
//   <div data-parcours-form="moto_quote">
//     <section data-parcours-step="vehicle">…  <section data-parcours-step="rider">…
//     <div data-parcours-done hidden>Merci</div>
// The step API records a step when it is completed; so does this: when a step
// becomes visible, the step that was visible before it (earlier in the page)
// is recorded as completed, once per page. A `data-parcours-done` element
// becoming visible completes the last step and ends the form (no abandon).
// Going back records nothing.
import { attempt } from './storage.js';

var FORM = 'data-parcours-form';
var STEP = 'data-parcours-step';
var DONE = 'data-parcours-done';

/** Watch the document; calls `done(formId, stepId)` per completed step and `done(formId)` at the end. */
export function watch(w, done) {
  var doc = w.document,
    cur = {},
    scan = () =>
      attempt(() =>
        doc.querySelectorAll('[data-parcours-form]').forEach((el) => {
          var f = el.getAttribute(FORM),
            prev = cur[f],
            // display:none (the hidden attribute, a class) leaves no client rects.
            now = [...el.querySelectorAll('[data-parcours-step],[data-parcours-done]')].find((s) => s.getClientRects().length),
            s;
          if (now && now != prev) {
            cur[f] = now;
            // A framework re-rendering a step (React, Vue) puts a new node of it in place of the old one: the
            // step the visitor was on is found again by its name, and is then the one they are on, no move.
            s = prev && prev.getAttribute(STEP);
            prev = prev && !prev.isConnected ? el.querySelectorAll(`[${STEP}="${s}"]`)[0] : prev;
            // 4: `now` follows `prev` in the document, i.e. the visitor moved forward.
            if (prev && prev != now && prev.compareDocumentPosition(now) & 4 && s) done(f, s);
            if (now.hasAttribute(DONE)) done(f);
          }
        })
      );
  scan();
  new w.MutationObserver(scan).observe(doc.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden', 'class', 'style'] });
}
