// Visitor id in a first-party cookie mirrored in localStorage (either one
// surviving is enough); session id with its last activity, renewed after 30
// minutes of inactivity.

var VID = '_pcid';
var SID = '_pcs';
var SESSION_MS = 18e5;
// 13 months, the longest lifetime the CNIL accepts for an audience cookie.
var VID_MAX_AGE = 34214400;

/** A random UUID v4 (randomUUID exists only in secure contexts, hence the fallback). */
export function uuid(c) {
  if (c && c.randomUUID) return c.randomUUID();
  var b = new Uint8Array(16), h = '', i;
  if (c) c.getRandomValues(b);
  else for (i = 0; i < 16; i++) b[i] = Math.random() * 256;
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  for (i = 0; i < 16; i++) h += (i == 4 || i == 6 || i == 8 || i == 10 ? '-' : '') + (b[i] + 256).toString(16).slice(1);
  return h;
}

/** {v: visitor id, s(now): session id touched at `now`}; state stays in memory if storage is blocked. */
export function identity(store, c) {
  var v = store.cookie(VID) || store.get(VID), s;
  if (typeof v != 'string' || !v) v = uuid(c);
  store.setCookie(VID, v, VID_MAX_AGE);
  store.set(VID, v);
  return {
    v: v,
    s: function (now) {
      // Re-read: another tab may have touched the same session.
      s = store.get(SID) || s;
      if (!s || typeof s.i != 'string' || !(now - s.a < SESSION_MS)) s = { i: uuid(c) };
      s.a = now;
      store.set(SID, s);
      return s.i;
    }
  };
}
