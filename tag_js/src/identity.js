// Visitor id in a first-party cookie (JS cookies and localStorage get the same
// 7-day cap under Safari's ITP, so a mirror would not help); session id with its last activity, renewed after 30
// minutes of inactivity. Links to the plan's other sites carry the visitor id
// in `_pcl` (id.timestamp in ms), adopted on landing only if less than 2 minutes old
// so a shared or bookmarked URL does not merge two people.

export var VID = '_pcid';
export var SID = '_pcs';
export var LINK = '_pcl';
var SESSION_MS = 18e5;
var LINK_MS = 12e4;
// 13 months, the longest lifetime the CNIL accepts for an audience cookie.
var VID_MAX_AGE = 34214400;

/**
 * A random UUID v4. randomUUID exists only in secure contexts, hence the
 * fallback (one getRandomValues call for all 31 random digits: it is slow).
 */
export var uuid = (c, b, i = 0) =>
  c.randomUUID ? c.randomUUID() : ((b = c.getRandomValues(new Uint8Array(31))), ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (d) => (d ^ (b[i++] & (15 >> (d / 4)))).toString(16)));

/** The visitor id carried by a decorated link, if fresh. */
export function linked(search, now) {
  var p = (new URLSearchParams(search).get(LINK) || '').split('.');
  return now - p[1] < LINK_MS && p[0];
}

/** `href` carrying visitor id `vid` at time `now`; without `vid`, `href` cleaned of it. */
export function decorate(href, vid, now) {
  var u = new URL(href);
  vid ? u.searchParams.set(LINK, vid + '.' + now) : u.searchParams.delete(LINK);
  return u.href;
}

/**
 * {v: visitor id, s(now): session id touched at `now`, save(): store both};
 * state stays in memory while storage is blocked or not consented.
 */
export function identity(store, c, link) {
  var v = link || store.getCookie(VID) || uuid(c), s;
  var ids = {
    v: v,
    s: (now) => {
      // Storage is touched at most every 10 s (a localStorage write costs tens
      // of microseconds): the session then ends 30 min after the last activity, give or take 10 s.
      if (!(now - (s || 0).a < 1e4)) {
        // Re-read: another tab may have touched the same session.
        s = store.read(SID) || s;
        if (!(now - (s || 0).a < SESSION_MS)) s = { i: uuid(c) };
        s.a = now;
        store.write(SID, s);
      }
      return s.i;
    },
    save: () => {
      store.setCookie(VID, v, VID_MAX_AGE);
      if (s) store.write(SID, s);
    }
  };
  ids.save();
  return ids;
}
