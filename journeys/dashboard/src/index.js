// The dashboard: one page, a header (period, filters, language, log out), and
// the panels, each loading its own figures from the reports API.
import { loginUrl, stop } from './api.js';
import { h, select, uid } from './dom.js';
import { LANGS, deviceName, lang, leverName, pickLang, setLang, t } from './i18n.js';
import { periodText, visible } from './format.js';
import { FIRST_DAY, LAST_DAY, datesProblem, isDay } from './period.js';
import { Panel } from './panel.js';
import * as state from './state.js';
import { PANELS } from './panels/index.js';

var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
var panels = PANELS.map((spec) => new Panel(spec));
// The order the panels ask for their figures: the attribution panel's first. Its conversion paths (every model's)
// are the widest the page reads, and the collector reads the levers', brokers', media's and paths' off them
// while they are shared (journeys/reports/paths.py, wider_paths) instead of computing four more queries.
var asking = [...panels].sort((a, b) => Number(Boolean(b.spec.asksFirst)) - Number(Boolean(a.spec.asksFirst)));
var header = h('header', { class: 'top' });
var nav = h('nav', { class: 'panels-nav' });
var banner = h('div', { class: 'banner', role: 'alert', hidden: true });

function boot() {
  setLang(pickLang(state.get().lang, navigator.languages));
  var main = h('main', { id: 'main', tabindex: '-1' }, panels.map((p) => p.el));
  document.body.replaceChildren(
    h('a', { class: 'skip', href: '#main' }, ''), header, banner, nav, main);
  drawChrome();
  // The sticky header's height, which the page keeps clear when it scrolls to a focused control (dashboard.css).
  new ResizeObserver(() => document.documentElement.style.setProperty('--header-height', `${header.offsetHeight}px`)).observe(header);
  keepInView(location.hash && document.getElementById(location.hash.slice(1)), main);
  asking.forEach((p) => p.load());
  state.onChange(function (changed) {
    if (changed.includes('lang')) {
      setLang(pickLang(state.get().lang, navigator.languages));
      drawChrome();
      panels.forEach((p) => p.draw());
    } else {
      drawChrome();
    }
    asking.forEach((p) => p.wants(changed) && p.load());
    panels.forEach((p) => p.redraws(changed) && p.draw()); // a table sorted: the same figures, in order
  });
  document.addEventListener('parcours:unauthorized', function () {
    banner.hidden = false;
    banner.replaceChildren(t('session.expired'), ' ', h('a', { href: loginUrl() }, t('login.again')));
  });
}

/**
 * A link to a panel (…#attribution, shared from the address bar after a click in the panels' links) opens at that
 * panel's top: the browser scrolled to it while the panels above were skeletons, and as their figures came it was
 * pushed down, the link opening in the middle of the panel, its heading under the header. It is brought back into
 * view as the panels above change height, until the viewer scrolls, types or clicks.
 */
function keepInView(target, main) {
  if (!target) return;
  var watch = new ResizeObserver(() => target.scrollIntoView());
  var done = () => {
    watch.disconnect();
    ['wheel', 'keydown', 'pointerdown', 'touchstart'].forEach((e) => removeEventListener(e, done, true));
  };
  ['wheel', 'keydown', 'pointerdown', 'touchstart'].forEach((e) => addEventListener(e, done, { capture: true, passive: true }));
  watch.observe(main);
}

/** Logging out: the panels still loading stop asking, so no report is refused once the session has ended. */
function leave() {
  stop();
  panels.forEach((p) => p.controller && p.controller.abort());
}

function drawChrome() {
  document.title = t('title');
  document.querySelector('.skip').textContent = t('skip');
  var s = state.get();
  header.replaceChildren(...[
    h('h1', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), ' parcours'),
    periodPicker(s),
    filterBar(s),
    h('div', { class: 'end' },
      select(t('language'), lang(), LANGS.map((l) => [l, l == 'fr' ? 'Français' : 'English']), (v) => state.set({ lang: v })),
      h('form', { method: 'post', action: '/dashboard/logout', class: 'logout', onsubmit: leave },
        h('input', { type: 'hidden', name: 'csrf', value: CSRF }),
        h('button', { type: 'submit' }, t('logout'))))].filter(Boolean));
  nav.setAttribute('aria-label', t('nav.label'));
  nav.replaceChildren(h('ul', null, panels.map((p) => h('li', null, h('a', { href: `#${p.spec.id}` }, t(`panel.${p.spec.id}`))))));
  panels.forEach((p) => p.drawChrome());
}

function periodPicker(s) {
  var r = state.range(s);
  var box = h('div', { class: 'period' },
    select(t('period'), s.period, state.PRESETS.map((p) => [p, t(`period.${p}`)]), function (v) {
      if (v == 'custom') state.set({ period: 'custom', from: r.first, to: r.last });
      else state.set({ period: v });
    }));
  if (s.period == 'custom') box.append(customDates(s));
  else box.append(h('span', { class: 'range', dataset: { from: r.from, to: r.to } }, periodText(r.first, r.last)));
  return box;
}

/**
 * From and To, applied together. Dates the other way round are not applied: the message says why beside the
 * inputs (aria-invalid, aria-describedby), and each input's min or max follows the other's value, so the
 * browser's date picker offers only days that fit.
 *
 * A native date input writes its day in the browser's language, not the page's: the HTML standard leaves its
 * presentation to the browser, and Chromium formats it by its own locale whatever the lang attribute says (seen
 * in the e2e tests), so a French page read "10/01/2026" in an American browser for 1 October. A
 * text field in the page's format would lose the browser's date picker and its keyboard and screen reader
 * support; the inputs stay native, and beside them the period they hold is said in the page's language
 * ("1 oct. – 15 nov. 2026"), as the inputs change.
 */
function customDates(s) {
  var fromId = uid('from'), toId = uid('to'), whyId = uid('why'), saidId = uid('said');
  var from = h('input', { id: fromId, type: 'date', value: s.from, min: FIRST_DAY, max: s.to || LAST_DAY, required: true });
  var to = h('input', { id: toId, type: 'date', value: s.to, min: s.from || FIRST_DAY, max: LAST_DAY, required: true });
  var why = h('p', { id: whyId, class: 'dates-error', role: 'alert', hidden: true });
  var said = h('output', { id: saidId, class: 'range', for: `${fromId} ${toId}` });
  function say() {
    said.textContent = datesProblem(from.value, to.value) == null ? periodText(from.value, to.value) : '';
  }
  say();
  function show(problem) {
    why.hidden = !problem;
    why.textContent = problem ? t(problem) : '';
    var bad = problem == 'dates.order' ? [from, to] : problem ? [from, to].filter((i) => !isDay(i.value)) : [];
    for (var input of [from, to]) {
      if (bad.includes(input)) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', `${whyId} ${saidId}`);
      } else {
        input.removeAttribute('aria-invalid');
        input.setAttribute('aria-describedby', saidId);
      }
    }
  }
  from.setAttribute('aria-describedby', saidId);
  to.setAttribute('aria-describedby', saidId);
  function follow() {
    to.min = from.value || FIRST_DAY;
    from.max = to.value || LAST_DAY;
    say();
    if (!why.hidden && !datesProblem(from.value, to.value)) show(null); // fixed: the message goes
  }
  from.addEventListener('input', follow);
  to.addEventListener('input', follow);
  // novalidate: the page says what is wrong, in its language, instead of the browser's bubble.
  return h('form', { class: 'dates', novalidate: true, onsubmit: function (e) {
    e.preventDefault();
    var problem = datesProblem(from.value, to.value);
    show(problem);
    if (problem) (isDay(from.value) ? to : from).focus();
    else state.set({ from: from.value, to: to.value });
  } },
  h('span', { class: 'control' }, h('label', { for: fromId }, t('from')), from),
  h('span', { class: 'control' }, h('label', { for: toId }, t('to')), to),
  h('button', { type: 'submit' }, t('apply')),
  said,
  why);
}

function filterBar(s) {
  var supported = state.supportedFilters();
  if (!supported.length) return null;
  var active = supported.filter((f) => s[f]);
  // A value from a hand-edited link shows every character it has: made of controls or spaces, its chip was blank.
  var shown = (f) => visible(f == 'lever' ? leverName(s[f]) : s[f]);
  var said = (f) => t('filter.chip', { filter: t('filter.' + f), value: shown(f) }); // "Campagne : x" in French
  var chips = active.map((f) => h('button', {
    type: 'button', class: 'chip', dataset: { filter: f },
    'aria-label': `${said(f)}. ${t('filter.remove')}`, title: said(f),
    onclick: () => state.set({ [f]: '' }),
  }, h('span', { class: 'chip-text' }, said(f)), h('span', { class: 'chip-x', 'aria-hidden': 'true' }, '✕')));
  return h('div', { class: 'filters', role: 'group', 'aria-label': t('filters') },
    supported.includes('device') && select(t('filter.device'), s.device, [['', t('filter.any')], ...state.DEVICES.map((d) => [d, deviceName(d)])],
      (v) => state.set({ device: v })),
    chips.filter((c) => c.dataset.filter != 'device'),
    active.length ? h('button', { type: 'button', class: 'clear', onclick: () => state.set(Object.fromEntries(supported.map((f) => [f, '']))) }, t('filter.clear')) : null);
}

boot();
