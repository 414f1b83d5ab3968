// URL parameters read on landing (broker id, utm_*, click ids) and kept for
// `d` days so that a quote signed on a later visit is still attributed.
// Stored as {param: [value, expiresAtMs]}: one expiry per value, so a later
// utm-only visit does not extend how long an older broker id is kept.

export var KEY = '_pcc';
var DAY = 864e5;

/** The configured parameters present (and non-empty) in a query string. */
export function readParams(search, cfg) {
  var u = new URLSearchParams(search), found = {}, any = 0;
  [cfg.b].concat(cfg.p).forEach(function (k) {
    var v = u.get(k);
    if (v) found[k] = v, any = 1;
  });
  return any ? found : null;
}

/** New stored map: the broker param replaces everything, other params are merged in. */
export function merge(stored, found, cfg, now) {
  var out = found[cfg.b] ? {} : Object.assign({}, stored), k;
  for (k in found) out[k] = [found[k], now + cfg.d * DAY];
  return out;
}

/** The unexpired values of a stored map, or undefined when there are none. */
export function active(stored, now) {
  var out, k;
  for (k in stored) {
    var e = stored[k];
    if (e && e[1] > now) (out = out || {})[k] = e[0];
  }
  return out;
}

/** Read the landing URL, update storage, and return what to attach to events. */
export function capture(store, search, cfg, now) {
  var stored = store.get(KEY), found = readParams(search, cfg);
  if (!stored || typeof stored != 'object') stored = {};
  if (found) store.set(KEY, stored = merge(stored, found, cfg, now));
  return active(stored, now);
}
