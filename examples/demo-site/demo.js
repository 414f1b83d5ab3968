// MotoAssur quote form: one page, four steps, no reload. The tagging is the
// point: a form_step event when a step is completed, form_submit at the end.
(function () {
  'use strict';

  var FORM_ID = 'moto_quote';
  var form = document.getElementById('quote');
  var steps = Array.prototype.slice.call(form.querySelectorAll('[data-step]'));
  var progress = Array.prototype.slice.call(document.querySelectorAll('#progress li'));
  var barFill = document.getElementById('bar-fill');
  var current = 0;

  // The install snippet always defines window.parcours (a queue until /t.js
  // loads); the guard only protects the page if the snippet was removed.
  function tag() {
    if (typeof window.parcours === 'function') window.parcours.apply(window, arguments);
  }

  /** Check the fields of one step only; show the browser's message on the first invalid one. */
  function stepIsValid(section) {
    var fields = section.querySelectorAll('input, select, textarea');
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].checkValidity()) {
        fields[i].reportValidity();
        return false;
      }
    }
    return true;
  }

  function show(index) {
    current = index;
    steps.forEach(function (section, i) { section.hidden = i !== index; });
    progress.forEach(function (li, i) {
      li.classList.toggle('is-done', i < index);
      li.classList.toggle('is-current', i === index);
      if (i === index) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    barFill.style.width = ((index + 1) / steps.length) * 100 + '%';
    var heading = steps[index].querySelector('h3');
    if (heading) heading.focus({ preventScroll: true });
  }

  // The form's version this page shows (an A/B test, the plan's `variant`): drawn once per page, stored
  // nowhere (a real test would keep it per visitor, with the consent that storage needs).
  var VARIANT = Math.random() < 0.5 ? 'a' : 'b';

  /** What a step sends with it: the A/B variant with the first step; the call-back phone and box of the rider
   * step, when a phone was given. */
  function stepProperties(step) {
    if (step === 'vehicle') return { variant: VARIANT };
    if (step !== 'rider') return undefined;
    var phone = document.getElementById('callback-phone').value.trim();
    if (!phone) return undefined;
    if (!form.elements.phone.value) form.elements.phone.value = phone; // asked again at the last step
    return { phone: phone, callback_consent: document.getElementById('callback-consent').checked };
  }

  function next() {
    var section = steps[current];
    if (!stepIsValid(section)) return;
    var step = section.getAttribute('data-step');
    tag('step', FORM_ID, step, stepProperties(step));
    show(current + 1);
  }

  function quoteId() {
    var rand = Math.floor(Math.random() * 36 * 36 * 36 * 36).toString(36);
    return ('Q-' + Date.now().toString(36) + ('000' + rand).slice(-4)).toUpperCase();
  }

  function finish() {
    var section = steps[steps.length - 1];
    if (!stepIsValid(section)) return;
    var ref = quoteId();
    tag('step', FORM_ID, section.getAttribute('data-step'));
    tag('submit', FORM_ID, { phone: form.elements.phone.value.trim(), quote_id: ref });
    document.getElementById('quote-ref').textContent = ref;
    form.hidden = true;
    progress.forEach(function (li) { li.classList.add('is-done'); li.classList.remove('is-current'); li.removeAttribute('aria-current'); });
    barFill.style.width = '100%';
    document.getElementById('confirmation').hidden = false;
    document.getElementById('h-done').focus({ preventScroll: true });
  }

  form.addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button) return;
    if (button.hasAttribute('data-next')) next();
    else if (button.hasAttribute('data-back') && current > 0) show(current - 1);
  });

  // Enter in a field submits the form: move to the next step instead, until the last one.
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (current < steps.length - 1) next();
    else finish();
  });
})();
