// Visitor id in a first-party cookie (JS cookies and localStorage get the same
// 7-day cap under Safari's ITP, so a mirror would not help); session id with its last activity, renewed after 30
// minutes of inactivity. Links to the plan's other sites carry the visitor id
// in `_pcl` (id.timestamp in ms). The landing adopts it only if it has the
// shape of the ids this tag makes, the link was decorated less than 2 minutes
// ago, and the visitor comes from one of the plan's sites (the referrer): a
// shared or bookmarked URL, or a redirector stamping fresh links with one id,
// does not merge people. Both times come from the visitor's own clock (the
// same browser decorates and lands), so the only skew is a clock corrected in
// between: a link up to 2 minutes in the future is accepted too, none further.
import { YEAR, attempt } from './storage.js';

export var VID = '_pcid';
export var SID = '_pcs';
export var LINK = '_pcl';
var SESSION_MS = 18e5;
var LINK_MS = 12e4;
// The shape of the ids the tag makes (UUIDs, lower case as both ways below write them): nothing else is adopted.
var ID = /^[\da-f]{8}(-[\da-f]{4}){3}-[\da-f]{12}$/;

/**
 * A random UUID v4. randomUUID exists only in secure contexts, hence the
 * fallback (one getRandomValues call for all 31 random digits: it is slow).
 */
export var uuid = (c, b, i = 0) =>
  c.randomUUID ? c.randomUUID() : ((b = c.getRandomValues(new Uint8Array(31))), ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (d) => (d ^ (b[i++] & (15 >> (d / 4)))).toString(16)));

/** The visitor id carried by a decorated link, if well formed, fresh and followed from one of `hosts`; else false. */
export function linked(search, now, referrer, hosts) {
  var p = (new URLSearchParams(search).get(LINK) || '').split('.');
  return p.length == 2 && ID.test(p[0]) && /^\d+$/.test(p[1]) && Math.abs(now - p[1]) < LINK_MS && hosts.includes(attempt(() => new URL(referrer).hostname)) && p[0];
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
  var s,
    v = store.getCookie(VID);
  v = link || (ID.test(v) && v) || uuid(c);
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
        store.write(SID, s, SESSION_MS / 1e3);
      }
      return s.i;
    },
    save: () => {
      store.setCookie(VID, v, YEAR);
      if (s) store.write(SID, s, SESSION_MS / 1e3);
    }
  };
  ids.save();
  return ids;
}
