// URL parameters read on landing (broker id, utm_*, click ids) and kept for
// their plan lifetime so that a quote signed on a later visit is still
// attributed. Stored as {param: [value, expiresAtMs]}: one expiry per value,
// so a later utm-only visit does not extend how long an older broker id is kept.
// Where localStorage is unavailable, the map goes to a cookie (storage.js).
import { YEAR } from './storage.js';

export var KEY = '_pcc';
var DAY = 864e5;

/**
 * The configured parameters present (and not blank) in a query string, or undefined. Trimmed: `?courtier=%20`
 * (a link template left unfilled) is no broker; read as one, it replaced the broker and campaign kept for
 * their lifetime with nothing.
 */
export function readParams(search, cfg) {
  var u = new URLSearchParams(search), found, k, v;
  for (k in cfg.p) if ((v = (u.get(k) || '').trim())) (found ||= {})[k] = v;
  return found;
}

/**
 * New stored map after a touch. Last non-direct touch wins: a broker id
 * replaces everything; a campaign touch (utm_*, click id) replaces the
 * previous campaign but keeps the broker until the broker's own expiry.
 */
export function merge(stored, found, cfg, now) {
  var out = {}, k;
  if (!found[cfg.b] && stored[cfg.b]) out[cfg.b] = stored[cfg.b];
  for (k in found) out[k] = [found[k], now + cfg.p[k] * DAY];
  return out;
}

/** The unexpired values of a stored map, or undefined when there are none. */
export function active(stored, now) {
  var out, k, e;
  for (k in stored) if ((e = stored[k]) && e[1] > now) (out = out || {})[k] = e[0];
  return out;
}

/**
 * Read the landing URL and update storage. Returns {c: what to attach to
 * events, m: the stored map, t: the parameters found (the touch)}.
 */
export function capture(store, search, cfg, now) {
  // Object(): garbage in storage (null, a number) reads as an empty map.
  var stored = Object(store.read(KEY)), found = readParams(search, cfg);
  if (found) store.write(KEY, (stored = merge(stored, found, cfg, now)), YEAR);
  return { c: active(stored, now), m: stored, t: found };
}
