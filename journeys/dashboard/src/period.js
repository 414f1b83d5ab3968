// The period picker's presets as UTC calendar days, as the reports count them.

export var PRESETS = ['7d', '30d', '90d', 'month', 'lastmonth', 'custom'];
var DAY = 86400000;

/** A calendar day written YYYY-MM-DD (2026-02-30 is not one: Date.parse would read it as March 2nd). */
export function isDay(text) {
  var ms = Date.parse(text + 'T00:00:00Z');
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !isNaN(ms) && day(ms) == text;
}

export function day(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Why custom dates cannot be applied (a string key: dates.missing, dates.order), or null when they can. */
export function datesProblem(from, to) {
  if (!isDay(from) || !isDay(to)) return 'dates.missing';
  if (from < FIRST_DAY || to > LAST_DAY) return 'dates.range'; // the reports count days from 1970 to 2099
  return from <= to ? null : 'dates.order';
}

/** The first and last days a period may hold (the reports API refuses others). */
export var FIRST_DAY = '1970-01-01', LAST_DAY = '2099-12-31';

/**
 * The period as the days shown (first and last, included) and as the API's
 * from/to (UTC instants, `to` excluded).
 */
export function range(s, now) {
  var today = Date.parse(day(now ?? Date.now()) + 'T00:00:00Z'), first, last;
  var d = new Date(today);
  if (s.period == 'custom') {
    first = Date.parse(s.from + 'T00:00:00Z');
    last = Date.parse(s.to + 'T00:00:00Z');
  } else if (s.period == 'month') {
    first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    last = today;
  } else if (s.period == 'lastmonth') {
    first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
    last = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - DAY;
  } else {
    var days = parseInt(s.period, 10);
    first = today - (days - 1) * DAY;
    last = today;
  }
  return { first: day(first), last: day(last), from: day(first), to: day(last + DAY) };
}

