// The view's state lives in the URL's query string, so a view can be shared
// and the back button works. Only known keys are kept; defaults are left out
// of the URL.
import { CONFIG } from './config.js';
import { PRESETS, datesProblem, range } from './period.js';

export { PRESETS, range };

export var DEFAULTS = {
  period: '30d', from: '', to: '', lang: '',
  lever: '', campaign: '', broker: '', device: '',
  series: 'visits', form: '', by: '', view: 'lever', sort: '', bsort: '', metric: 'conversions', lookback: '30d', offline: '1', model: 'linear',
};
export var FILTERS = ['lever', 'campaign', 'broker', 'device'];
export var MODELS = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based', 'time_decay', 'markov'];
export var LOOKBACKS = ['7d', '14d', '30d', '60d', '90d'];
// The device types the reports know (collector/useragent.py DEVICES, sent by the page's config): the device
// filter offers each, and takes no other (the API refuses another, and every panel said so).
export var DEVICES = CONFIG.devices || ['desktop', 'mobile', 'tablet', 'other'];
// The keys a control sets from a list: any other value (a hand-edited link) is the default's.
var CHOICES = { model: MODELS, lookback: LOOKBACKS, offline: ['0', '1'], metric: ['conversions', 'revenue'], view: ['lever', 'campaign'] };

var state = read(location.search);
var listeners = [];

export function read(search) {
  var params = new URLSearchParams(search), out = { ...DEFAULTS };
  for (var key of Object.keys(DEFAULTS)) if (params.has(key)) out[key] = params.get(key).slice(0, 32768); // the longest value a report takes (an event's limit)
  if (!PRESETS.includes(out.period)) out.period = DEFAULTS.period;
  for (var [key, allowed] of Object.entries(CHOICES)) if (!allowed.includes(out[key])) out[key] = DEFAULTS[key];
  if (!DEVICES.includes(out.device)) out.device = DEFAULTS.device;
  if (out.period == 'custom' && datesProblem(out.from, out.to)) out.period = DEFAULTS.period; // a link's days out of order or range
  return out;
}

export function get() {
  return state;
}

/** Change some keys; push a history entry (or replace it) and tell the listeners which keys changed. */
export function set(changes, replace) {
  var changed = Object.keys(changes).filter((k) => state[k] !== changes[k]);
  if (!changed.length) return;
  state = { ...state, ...changes };
  var url = location.pathname + query(state) + location.hash;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((fn) => fn(changed));
}

export function onChange(fn) {
  listeners.push(fn);
}

window.addEventListener('popstate', function () {
  var before = state;
  state = read(location.search);
  var changed = Object.keys(DEFAULTS).filter((k) => before[k] !== state[k]);
  if (changed.length) listeners.forEach((fn) => fn(changed));
});

export function query(s) {
  var params = new URLSearchParams();
  for (var [k, v] of Object.entries(s)) {
    if (v === DEFAULTS[k] || ((k == 'from' || k == 'to') && s.period != 'custom')) continue;
    params.set(k, v);
  }
  var text = params.toString();
  return text ? '?' + text : '';
}

/** The report API's parameters common to every panel: the period and the filters. */
export function common(s) {
  var r = range(s), out = { from: r.from, to: r.to };
  for (var f of supportedFilters()) if (s[f]) out[f] = s[f];
  return out;
}

/**
 * How the panels that credit sales to levers credit them, the same everywhere on the page: the model chosen
 * (levers, brokers, the heat map), the lookback window and whether an offline sale's point of sale is its last
 * touch (both set on the Attribution panel, which shows every model at once).
 */
export function credit(s) {
  return { model: s.model, lookback: s.lookback, offline_touch: s.offline == '1' ? 'true' : 'false' };
}

/** The filters the reports API takes (the page offers no filter it cannot apply to every panel). */
export function supportedFilters() {
  return FILTERS.filter((f) => (CONFIG.filters || []).includes(f));
}
