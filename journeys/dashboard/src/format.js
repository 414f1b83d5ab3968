// Numbers as people read them in the page's language. The exact value the API
// sent stays on the element (data-value) so the tests compare like for like.
import { lang } from './i18n.js';

var cache = {};

function nf(kind) {
  var key = lang() + kind;
  if (!cache[key]) {
    var opts = {
      count: { maximumFractionDigits: 0 },
      decimal: { maximumFractionDigits: 2 },
      decimal2: { minimumFractionDigits: 2, maximumFractionDigits: 2 },
      money: { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 },
      money2: { style: 'currency', currency: 'EUR', minimumFractionDigits: 2, maximumFractionDigits: 2 },
      rate: { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 },
      share: { maximumFractionDigits: 1 },
    }[kind];
    cache[key] = new Intl.NumberFormat(lang() == 'fr' ? 'fr-FR' : 'en-GB', opts);
  }
  return cache[key];
}

/** A figure for display; kind is count, decimal, money, money2, rate (0..1), share or duration (seconds). */
export function fmt(value, kind) {
  if (value == null || (typeof value == 'number' && !isFinite(value))) return '–';
  if (kind == 'time') {
    var d = new Date(value);
    return isNaN(d) ? String(value) : d.toLocaleString(lang() == 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  }
  if (typeof value != 'number') return String(value);
  if (kind == 'duration') return duration(value);
  // Whole euros read best; an amount with cents shows them (1 650,50 € was "1 651 €", not the report's figure).
  if (kind == 'money' && hasCents(value)) kind = 'money2';
  // A figure with a fraction (a sale credited in part) shows two decimals, as its neighbours do: a column read
  // 384,2 under 367,68.
  if ((kind || 'decimal') == 'decimal' && hasCents(value)) kind = 'decimal2';
  return nf(kind || 'decimal').format(value);
}

/** Whether an amount has cents (shown with two decimals, not as whole euros). */
export function hasCents(value) {
  return typeof value == 'number' && Math.round(value * 100) % 100 != 0;
}

function duration(seconds) {
  var s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  var m = Math.floor(s / 60), rest = s % 60;
  if (m < 60) return rest ? `${m} min ${rest} s` : `${m} min`;
  var h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** The change from before to now as a signed percentage, or null when there is nothing to compare. */
export function change(now, before) {
  if (now == null || before == null || before === 0) return null;
  return (now - before) / Math.abs(before);
}

export function signedRate(x) {
  if (x == null) return '';
  var text = nf('rate').format(Math.abs(x));
  return (x > 0 ? '+' : x < 0 ? '−' : '±') + text;
}

/** A short date (day and month, and the year with `year`) for axes; the ISO day stays in the tables. */
export function shortDay(iso, year) {
  return dateText(iso, { day: 'numeric', month: 'short', ...(year ? { year: 'numeric' } : {}) });
}

/**
 * A period's first and last days (ISO, both included) in the page's language, as few words as they need:
 * "1 oct. – 15 nov. 2026", "1 – 15 Oct 2026". The date inputs show their days in the browser's language, not the
 * page's (see index.js customDates): this says them in the page's.
 */
export function periodText(first, last) {
  var at = (iso) => new Date(String(iso).slice(0, 10) + 'T00:00:00Z');
  var a = at(first), b = at(last);
  if (isNaN(a) || isNaN(b) || a > b) return '';
  var f = new Intl.DateTimeFormat(lang() == 'fr' ? 'fr-FR' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  return f.formatRange(a, b);
}

function dateText(iso, opts) {
  var d = new Date(iso.slice(0, 10) + 'T00:00:00Z');
  return d.toLocaleDateString(lang() == 'fr' ? 'fr-FR' : 'en-GB', { ...opts, timeZone: 'UTC' });
}

/**
 * The x axis of a daily series (ISO days, in order): `labels`, one per day (the tooltips'), with the year when
 * the days span more than one calendar year ("1 Jan" of which year?); `ticks`, the days the axis names, by index:
 * on a long period the first day of each month, or of each year, under the month's or the year's name, where
 * evenly spread days read "1 Jan, 1 Nov, 2 Sept"; null on a short one (any day, as the chart spreads them).
 */
export function dayAxis(days) {
  var years = days.length ? Number(days[days.length - 1].slice(0, 4)) - Number(days[0].slice(0, 4)) : 0;
  var labels = days.map((d) => shortDay(String(d), years > 0));
  if (days.length <= 92) return { labels, ticks: null };
  var unit = years > 3 ? 4 : 7; // YYYY or YYYY-MM: what changes from one tick to the next
  var ticks = new Map();
  days.forEach(function (d, i) {
    if (i > 0 && d.slice(0, unit) == days[i - 1].slice(0, unit)) return;
    if (i == 0 && !d.endsWith(unit == 4 ? '-01-01' : '-01')) return; // a part of a month or year: not named
    ticks.set(i, unit == 4 ? d.slice(0, 4) : dateText(d, { month: 'short', ...(years > 0 ? { year: 'numeric' } : {}) }));
  });
  return { labels, ticks };
}

// What shows nothing: controls, format characters (a zero-width space, a bidi override that draws "gnirps-otom" as
// "moto-spring"), line and paragraph separators, the Hangul fillers.
var INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/gu;

/**
 * A value from a link (a filter's) as it is, where its characters would show nothing or another value: each
 * invisible one as its code point ([U+0007]), spaces at either end (or only spaces) as ␣. A campaign of two control
 * characters was an empty-looking chip ("Campagne : "), and the page empty for a filter nobody could see.
 */
export function visible(text) {
  var shown = String(text ?? '').replace(INVISIBLE, (c) => `[U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
  return shown.replace(/^\s+|\s+$/g, (run) => '␣'.repeat([...run].length));
}
