// A panel's frame: heading, controls, and a body that is always in one of four
// designed states: loading (a skeleton, the rest of the page stays usable),
// empty (says why and what to try), error (says what failed, with a retry) or
// the figures. A panel reloads only when a key it reads changes; a newer load
// aborts the older one.
import { asOf, askFresh, loginUrl } from './api.js';
import { destroyIn } from './charts.js';
import { h } from './dom.js';
import { errorWhy } from './errors.js';
import { fmt } from './format.js';
import { lang, t } from './i18n.js';
import * as state from './state.js';

var COMMON = ['period', 'from', 'to', ...state.FILTERS];

export class Panel {
  constructor(spec) {
    this.spec = spec;
    this.data = null;
    this.controller = null;
    this.heading = h('h2', { id: `${spec.id}-h` });
    this.controls = h('div', { class: 'controls' });
    this.body = h('div', { class: 'body', 'aria-live': 'polite' });
    // A part of the panel that does not depend on its report (the journeys' person search) stays usable
    // whatever state the report is in.
    this.footer = h('div', { class: 'panel-footer' });
    this.el = h('section', { id: spec.id, class: 'panel', 'aria-labelledby': `${spec.id}-h`, dataset: { state: 'loading' } },
      h('header', null, this.heading, this.controls), this.body, this.footer);
  }

  /** Whether a change of these state keys only redraws the figures it has (its table's order). */
  redraws(changed) {
    return Boolean(this.spec.sortKey) && changed.includes(this.spec.sortKey) && !this.wants(changed) && this.data != null;
  }

  /** Whether a change of these state keys calls for new figures. */
  wants(changed) {
    return changed.some((k) => COMMON.includes(k) || (this.spec.keys || []).includes(k));
  }

  drawChrome() {
    this.heading.textContent = t(`panel.${this.spec.id}`);
    this.controls.replaceChildren(...(this.spec.controls ? this.spec.controls(state.get(), state.set) : []));
    // Built again only in another language: a person found stays on screen while the period or a filter changes.
    if (this.spec.footer && this.footerLang != lang()) {
      this.footerLang = lang();
      this.footer.replaceChildren(...this.spec.footer());
    }
  }

  /**
   * Load the panel's figures. Figures computed before data came in (the server keeps answers: an Age header)
   * are drawn at once, saying "as of", and current ones asked for behind them; `current`: only current ones.
   */
  async load(current) {
    if (this.controller) this.controller.abort();
    var controller = (this.controller = new AbortController());
    if (current) askFresh(controller.signal);
    this.updating = false;
    delete this.el.dataset.updating;
    this.show('loading');
    var started = performance.now();
    try {
      var data = await this.spec.load(state.get(), controller.signal);
      if (controller.signal.aborted) return;
      this.data = data;
      this.asOf = asOf(controller.signal);
      this.elapsed = performance.now() - started;
      this.el.dataset.ms = Math.round(this.elapsed); // the panel's answer time (bench/bench_dashboard.py reads it)
      this.updating = Boolean(this.asOf);
      this.draw();
    } catch (err) {
      if (controller.signal.aborted || err.name == 'AbortError') return;
      this.data = null;
      this.error = err;
      this.show('error');
      return;
    }
    if (this.updating) this.update();
  }

  /** Current figures behind older ones on screen; kept on screen, with a Refresh button, if that fails. */
  async update() {
    var controller = (this.controller = new AbortController());
    askFresh(controller.signal, true);
    this.el.dataset.updating = 'true';
    try {
      var data = await this.spec.load(state.get(), controller.signal);
      if (controller.signal.aborted) return;
      this.data = data;
      this.asOf = asOf(controller.signal);
    } catch (err) {
      if (controller.signal.aborted || err.name == 'AbortError') return;
    } finally {
      if (this.controller === controller) delete this.el.dataset.updating;
    }
    this.updating = false;
    this.draw();
  }

  /** Draw the figures held (after a load, or again in another language). */
  draw() {
    if (!this.data) return this.error ? this.show('error') : undefined;
    if (this.spec.isEmpty && this.spec.isEmpty(this.data, state.get())) return this.show('empty');
    // The control that had the focus (a sort button pressed with Enter) has it again in the new figures: the
    // focus went to <body>, and a keyboard user had to tab through the page to press it a second time.
    var active = document.activeElement, focus = this.body.contains(active) && active.dataset.focus;
    destroyIn(this.body);
    this.body.replaceChildren(...[this.spec.render(this.data, state.get(), state.set)].flat());
    if (focus) {
      var again = this.body.querySelector(`[data-focus="${CSS.escape(focus)}"]`);
      if (again) again.focus();
    }
    if (this.asOf) {
      this.body.append(h('p', { class: 'as-of', role: 'status' }, t('asof', { time: fmt(this.asOf, 'time') }), ' ',
        this.updating ? t('asof.updating')
          : h('button', { type: 'button', onclick: () => this.load(true) }, t('asof.refresh'))));
    }
    this.el.dataset.state = 'ready';
    this.el.removeAttribute('aria-busy');
  }

  show(kind) {
    destroyIn(this.body);
    this.el.dataset.state = kind;
    if (kind == 'loading') {
      this.el.setAttribute('aria-busy', 'true');
      this.body.replaceChildren(h('div', { class: 'skeleton', role: 'status' }, h('span', { class: 'visually-hidden' }, t('loading')),
        h('div', { class: 'bone wide' }), h('div', { class: 'bone' }), h('div', { class: 'bone' })));
      return;
    }
    this.el.removeAttribute('aria-busy');
    if (kind == 'empty') {
      var filtered = state.supportedFilters().some((f) => state.get()[f]);
      this.body.replaceChildren(h('div', { class: 'state empty' }, h('p', null, t(filtered ? 'empty' : 'empty.period')),
        h('p', { class: 'hint' }, t(filtered ? 'empty.hint' : 'empty.period.hint'))));
    } else {
      // Why, in the page's language (errors.js): the browser's words for a network failure and the API's
      // messages are English.
      // A session that ended is not retried (every call would be refused): the way on is to log in again, from
      // the panel in view, where "Try again" did nothing and the banner saying so was at the page's top.
      var ended = this.error && this.error.status == 401;
      this.body.replaceChildren(h('div', { class: 'state error', role: 'alert' },
        h('p', null, t('error')), errorWhy(this.error),
        ended ? h('a', { class: 'again', href: loginUrl() }, t('login.again'))
          : h('button', { type: 'button', onclick: () => this.load() }, t('retry'))));
    }
  }
}
